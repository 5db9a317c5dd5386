import { timingSafeEqual } from "node:crypto";
import type { HttpRequest } from "@smithy/protocol-http";
import {
  CLUSTER_ID_HEADER,
  callerIdentityRequest,
  EKS_TOKEN_PREFIX,
  presignerFor,
  TOKEN_LIFETIME_MS,
} from "../../src/eks/token.js";

/** Query keys aws-iam-authenticator accepts in a presigned GetCallerIdentity URL. */
const ALLOWED_QUERY_KEYS = new Set([
  "action",
  "version",
  "x-amz-algorithm",
  "x-amz-credential",
  "x-amz-date",
  "x-amz-expires",
  "x-amz-security-token",
  "x-amz-signature",
  "x-amz-signedheaders",
]);

/** aws-iam-authenticator refuses longer tokens. */
const MAX_TOKEN_BYTES = 4096;
/** ... and presigned URLs that ask to live longer than its 15 minutes. */
const MAX_EXPIRES_SECONDS = 900;

export interface KnownCredential {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** The IAM identity these credentials belong to. */
  arn: string;
}

export interface TokenCheck {
  token: string;
  clusterName: string;
  /** Origins (`http://127.0.0.1:4566`) the presigned URL may point at. */
  stsEndpoints: string[];
  credentials: KnownCredential[];
  now: Date;
}

export type TokenVerdict = { ok: true; arn: string; accessKeyId: string } | { ok: false; reason: string };

const reject = (reason: string): TokenVerdict => ({ ok: false, reason });

function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

function decodeTokenUrl(token: string): URL | undefined {
  if (!token.startsWith(EKS_TOKEN_PREFIX)) return undefined;
  const encoded = token.slice(EKS_TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return undefined;
  try {
    return new URL(Buffer.from(encoded, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Verify an EKS bearer token as aws-iam-authenticator does (host, path, query
 * keys, action, signed cluster header, 15-minute lifetime), then check the
 * SigV4 signature itself against the emulator's known credentials, where the
 * real authenticator would forward the URL to STS.
 */
export async function verifyEksToken(check: TokenCheck): Promise<TokenVerdict> {
  if (check.token.length > MAX_TOKEN_BYTES) return reject(`token longer than ${MAX_TOKEN_BYTES} bytes`);
  const url = decodeTokenUrl(check.token);
  if (!url) return reject("not an EKS token (k8s-aws-v1. + base64url URL)");
  if (!check.stsEndpoints.includes(url.origin)) return reject(`unexpected STS host ${url.origin}`);
  if (url.pathname !== "/") return reject(`unexpected path ${url.pathname}`);

  const query = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    const lower = key.toLowerCase();
    if (!ALLOWED_QUERY_KEYS.has(lower)) return reject(`query key ${key} is not allowed`);
    if (query.has(lower)) return reject(`query key ${key} is repeated`);
    query.set(lower, value);
  }
  if (query.get("action") !== "GetCallerIdentity") return reject("action is not GetCallerIdentity");
  const signedHeaders = (query.get("x-amz-signedheaders") ?? "").split(";");
  if (!signedHeaders.includes(CLUSTER_ID_HEADER)) return reject(`${CLUSTER_ID_HEADER} is not signed`);

  const expires = query.get("x-amz-expires") ?? "";
  if (!/^\d+$/.test(expires) || Number(expires) < 1 || Number(expires) > MAX_EXPIRES_SECONDS) {
    return reject(`X-Amz-Expires must be a whole number of seconds from 1 to ${MAX_EXPIRES_SECONDS}`);
  }
  const signedAt = parseAmzDate(query.get("x-amz-date") ?? "");
  if (!signedAt) return reject("X-Amz-Date is missing or malformed");
  if (check.now.getTime() > signedAt.getTime() + TOKEN_LIFETIME_MS) return reject("token expired");

  const [accessKeyId, , region] = (query.get("x-amz-credential") ?? "").split("/");
  const known = check.credentials.find((c) => c.accessKeyId === accessKeyId);
  if (!accessKeyId || !region || !known) return reject("unknown access key");
  const sessionToken = query.get("x-amz-security-token");
  if ((known.sessionToken ?? undefined) !== sessionToken) return reject("session token does not match");

  const expected = (await presignerFor({ ...known, sessionToken }, region).presign(
    callerIdentityRequest(url.origin, check.clusterName),
    { signingDate: signedAt, expiresIn: Number(expires) },
  )) as HttpRequest;
  const expectedSignature = Buffer.from(String(expected.query["X-Amz-Signature"] ?? ""));
  const givenSignature = Buffer.from(query.get("x-amz-signature") ?? "");
  if (expectedSignature.length !== givenSignature.length || !timingSafeEqual(expectedSignature, givenSignature)) {
    return reject("signature does not match (wrong cluster, tampered, or wrong secret)");
  }
  return { ok: true, arn: known.arn, accessKeyId };
}
