import { Sha256 } from "@aws-crypto/sha256-js";
import { partition } from "@aws-sdk/core/client";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentity } from "@smithy/types";

/** Prefix of every EKS bearer token (what `aws eks get-token` prints). */
export const EKS_TOKEN_PREFIX = "k8s-aws-v1.";
/** Header that binds the presigned request to one cluster. */
export const CLUSTER_ID_HEADER = "x-k8s-aws-id";
/** EKS accepts a token for 15 minutes after it was signed, whatever X-Amz-Expires says. */
export const TOKEN_LIFETIME_MS = 15 * 60 * 1000;
/** `aws eks get-token` presigns with a 60 second expiry parameter. */
const PRESIGN_EXPIRES_SECONDS = 60;

export interface EksTokenRequest {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentity;
  /** STS endpoint; `https://sts.<region>.amazonaws.com` unless an emulator is used. */
  stsEndpoint?: string;
  now?: Date;
}

export interface EksToken {
  token: string;
  /** When the API server stops accepting it. Renew before this. */
  expiresAt: Date;
}

/**
 * STS's regional endpoint, with the DNS suffix of the region's partition
 * (aws, aws-cn, aws-us-gov, the ISO partitions, the European sovereign
 * cloud) taken from the AWS SDK's own partition table, not guessed.
 */
export function defaultStsEndpoint(region: string): string {
  return `https://sts.${region}.${partition(region).dnsSuffix}`;
}

/**
 * The GetCallerIdentity request the token presigns. The webhook verifying a
 * token rebuilds exactly this request, so both sides share it.
 */
export function callerIdentityRequest(endpoint: string, clusterName: string): HttpRequest {
  const url = new URL(endpoint);
  return new HttpRequest({
    method: "GET",
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: "/",
    query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
    headers: { host: url.host, [CLUSTER_ID_HEADER]: clusterName },
  });
}

export function presignerFor(credentials: AwsCredentialIdentity, region: string): SignatureV4 {
  return new SignatureV4({ credentials, region, service: "sts", sha256: Sha256, uriEscapePath: true });
}

export function formatPresignedUrl(request: HttpRequest): string {
  const query = Object.entries(request.query)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
    .join("&");
  const port = request.port ? `:${request.port}` : "";
  return `${request.protocol}//${request.hostname}${port}${request.path}?${query}`;
}

/**
 * Make an EKS bearer token the way `aws eks get-token` does: presign STS
 * GetCallerIdentity with the cluster name in the signed `x-k8s-aws-id`
 * header, then `k8s-aws-v1.` + base64url(url) without padding.
 */
export async function makeEksToken(request: EksTokenRequest): Promise<EksToken> {
  const now = request.now ?? new Date();
  const endpoint = request.stsEndpoint ?? defaultStsEndpoint(request.region);
  const presigned = await presignerFor(request.credentials, request.region).presign(
    callerIdentityRequest(endpoint, request.clusterName),
    { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate: now },
  );
  const url = formatPresignedUrl(presigned as HttpRequest);
  return {
    token: EKS_TOKEN_PREFIX + Buffer.from(url, "utf8").toString("base64url"),
    expiresAt: new Date(now.getTime() + TOKEN_LIFETIME_MS),
  };
}
