import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { DescribeClusterCommand, type EKSClient } from "@aws-sdk/client-eks";
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import { parse } from "yaml";
import { makeEksToken } from "../eks/token.js";
import type { ClusterConnection } from "./rest.js";

/** Gives a connection that is valid now; implementations cache and renew. */
export type ClusterConnector = () => Promise<ClusterConnection>;

export interface EksConnectorOptions {
  eks: EKSClient;
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentityProvider;
  /** STS endpoint for the token; the emulator's when AWS_ENDPOINT_URL is set. */
  stsEndpoint?: string;
  now?: () => Date;
  /** Make a new token when less than this is left of the old one's 15 minutes. */
  renewBeforeMs?: number;
}

/**
 * Connect to EKS with the function's IAM role only: DescribeCluster for the
 * endpoint and CA (cached for the life of the container), and a bearer token
 * made like `aws eks get-token` (cached, renewed before it expires). No
 * kubeconfig files or CLI binaries.
 */
export function eksConnector(options: EksConnectorOptions): ClusterConnector {
  const now = options.now ?? (() => new Date());
  const renewBeforeMs = options.renewBeforeMs ?? 5 * 60 * 1000;
  let endpoint: Promise<{ server: string; ca: Buffer }> | undefined;
  let current: { connection: ClusterConnection; expiresAt: Date } | undefined;

  const describe = async () => {
    const { cluster } = await options.eks.send(new DescribeClusterCommand({ name: options.clusterName }));
    const server = cluster?.endpoint;
    const caData = cluster?.certificateAuthority?.data;
    if (!server || !caData) throw new Error(`EKS cluster ${options.clusterName} has no endpoint or CA yet`);
    return { server, ca: Buffer.from(caData, "base64") };
  };

  return async () => {
    if (current && current.expiresAt.getTime() - now().getTime() > renewBeforeMs) return current.connection;
    endpoint ??= describe().catch((error: unknown) => {
      endpoint = undefined; // do not cache a failure
      throw error;
    });
    const { server, ca } = await endpoint;
    const { token, expiresAt } = await makeEksToken({
      clusterName: options.clusterName,
      region: options.region,
      credentials: await options.credentials(),
      stsEndpoint: options.stsEndpoint,
      now: now(),
    });
    current = { connection: { server, ca, token }, expiresAt };
    return current.connection;
  };
}

interface KubeconfigFile {
  "current-context"?: string;
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  clusters?: {
    name: string;
    cluster: {
      server: string;
      "certificate-authority"?: string;
      "certificate-authority-data"?: string;
      "insecure-skip-tls-verify"?: boolean;
    };
  }[];
  users?: {
    name: string;
    user: {
      token?: string;
      "client-certificate"?: string;
      "client-certificate-data"?: string;
      "client-key"?: string;
      "client-key-data"?: string;
      exec?: unknown;
    };
  }[];
}

/** A file's contents, or base64 data inline, as kubeconfig allows either. */
function material(dir: string, file: string | undefined, data: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, "base64");
  if (file) return readFileSync(isAbsolute(file) ? file : resolve(dir, file));
  return undefined;
}

/**
 * A plain kubeconfig, for local clusters and other Kubernetes distributions:
 * the current context's server, CA, and a client certificate or token. (Exec
 * credential plugins need binaries a Lambda does not have; use EKS auth there.)
 */
export function kubeconfigConnector(path: string): ClusterConnector {
  let connection: ClusterConnection | undefined;
  return async () => {
    if (connection) return connection;
    const file = parse(readFileSync(path, "utf8")) as KubeconfigFile;
    const context = file.contexts?.find((c) => c.name === file["current-context"])?.context;
    const cluster = file.clusters?.find((c) => c.name === context?.cluster)?.cluster;
    const user = file.users?.find((u) => u.name === context?.user)?.user;
    if (!cluster?.server) throw new Error(`kubeconfig ${path} has no current context with a cluster server`);
    if (user?.exec)
      throw new Error(`kubeconfig ${path} uses an exec credential plugin; give a token or client certificate`);
    const dir = dirname(path);
    connection = {
      server: cluster.server,
      ca: material(dir, cluster["certificate-authority"], cluster["certificate-authority-data"]),
      cert: material(dir, user?.["client-certificate"], user?.["client-certificate-data"]),
      key: material(dir, user?.["client-key"], user?.["client-key-data"]),
      token: user?.token,
      insecureSkipTLSVerify: cluster["insecure-skip-tls-verify"],
    };
    return connection;
  };
}
