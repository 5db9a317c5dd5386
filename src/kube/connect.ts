import { DescribeClusterCommand, type EKSClient } from "@aws-sdk/client-eks";
import { KubeConfig } from "@kubernetes/client-node";
import type { AwsCredentialIdentityProvider } from "@smithy/types";
import { makeEksToken } from "../eks/token.js";

/** Gives a KubeConfig that is valid now; implementations cache and renew. */
export type ClusterConnector = () => Promise<KubeConfig>;

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
  let endpoint: Promise<{ server: string; caData: string }> | undefined;
  let current: { config: KubeConfig; expiresAt: Date } | undefined;

  const describe = async () => {
    const { cluster } = await options.eks.send(new DescribeClusterCommand({ name: options.clusterName }));
    const server = cluster?.endpoint;
    const caData = cluster?.certificateAuthority?.data;
    if (!server || !caData) throw new Error(`EKS cluster ${options.clusterName} has no endpoint or CA yet`);
    return { server, caData };
  };

  return async () => {
    if (current && current.expiresAt.getTime() - now().getTime() > renewBeforeMs) return current.config;
    endpoint ??= describe().catch((error: unknown) => {
      endpoint = undefined; // do not cache a failure
      throw error;
    });
    const { server, caData } = await endpoint;
    const { token, expiresAt } = await makeEksToken({
      clusterName: options.clusterName,
      region: options.region,
      credentials: await options.credentials(),
      stsEndpoint: options.stsEndpoint,
      now: now(),
    });
    const config = new KubeConfig();
    config.loadFromOptions({
      clusters: [{ name: options.clusterName, server, caData }],
      users: [{ name: "lambda", token }],
      contexts: [{ name: "eks", cluster: options.clusterName, user: "lambda" }],
      currentContext: "eks",
    });
    current = { config, expiresAt };
    return config;
  };
}

/** A plain kubeconfig, for local clusters and other Kubernetes distributions. */
export function kubeconfigConnector(path: string): ClusterConnector {
  let config: KubeConfig | undefined;
  return async () => {
    if (!config) {
      config = new KubeConfig();
      config.loadFromFile(path);
    }
    return config;
  };
}
