import { existsSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { cacheDir, readVersions } from "../../bed/paths.js";
import type { BedInfo } from "../../bed/state.js";

/**
 * Where the integration tests run. By default on the bed the global setup
 * starts; one variable each points a half of it elsewhere:
 *
 *   DROPBUILD_TEST_AWS_ENDPOINT  an AWS endpoint URL (LocalStack, another moto),
 *                                or `aws` for AWS itself; credentials and region
 *                                from the standard AWS variables
 *   DROPBUILD_TEST_KUBECONFIG    a kubeconfig of a real cluster (kind, k3d, EKS)
 *                                allowed to create namespaces, Jobs and RBAC
 */
export interface TargetSettings {
  aws?: { endpoint?: string; region: string; accessKeyId: string; secretAccessKey: string };
  kubeconfig?: string;
}

/** What only some targets can do; a test that needs one is skipped, saying which, where the target lacks it. */
export type Capability =
  /** moto's EKS cluster, the token webhook and the bed's IAM identities (the IRSA-style token exchange). */
  | "emulated-eks"
  /** The bed's own control plane: its PKI, state directory and daemons (fault proxies, local runtime). */
  | "bed-control-plane"
  /** The bed's real node and registry: kaniko builds. */
  | "real-node"
  /** kwok's simulated nodes: builds run with SIMULATED_BUILDS=true finish. */
  | "simulated-nodes";

export const ALL_CAPABILITIES: readonly Capability[] = [
  "emulated-eks",
  "bed-control-plane",
  "real-node",
  "simulated-nodes",
];

/** The target as the environment names it; undefined halves are the bed's. */
export function targetSettings(env: NodeJS.ProcessEnv = process.env): TargetSettings {
  const settings: TargetSettings = {};
  const endpoint = env.DROPBUILD_TEST_AWS_ENDPOINT;
  if (endpoint) settings.aws = awsSettings(endpoint, env);
  const kubeconfig = env.DROPBUILD_TEST_KUBECONFIG;
  if (kubeconfig) {
    if (!existsSync(kubeconfig)) throw new Error(`DROPBUILD_TEST_KUBECONFIG: no such file ${kubeconfig}`);
    settings.kubeconfig = kubeconfig;
  }
  return settings;
}

function awsSettings(endpoint: string, env: NodeJS.ProcessEnv): NonNullable<TargetSettings["aws"]> {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error("DROPBUILD_TEST_AWS_ENDPOINT is set: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for it too");
  }
  if (endpoint !== "aws" && !URL.canParse(endpoint)) {
    throw new Error(`DROPBUILD_TEST_AWS_ENDPOINT: not a URL nor "aws": ${endpoint}`);
  }
  return {
    endpoint: endpoint === "aws" ? undefined : endpoint,
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
    accessKeyId,
    secretAccessKey,
  };
}

/** Both halves elsewhere: the global setup starts nothing. */
export const fullyExternal = (settings: TargetSettings) => Boolean(settings.aws && settings.kubeconfig);
export const anyExternal = (settings: TargetSettings) => Boolean(settings.aws || settings.kubeconfig);

/** kubectl for applying infra/k8s: the bed's if it was built, else the one on PATH. */
export function targetKubectl(): string {
  const built = join(cacheDir(), `kubernetes-${readVersions().kubernetes}`, "bin", "kubectl");
  return existsSync(built) ? built : "kubectl";
}

/**
 * A BedInfo for a target whose halves may be elsewhere: the bed's fields where
 * the bed still serves (`base`), the target's where it does not. Fields only the
 * bed has are left empty; tests that read them need a capability.
 */
export function targetInfo(settings: TargetSettings, stateDir: string, base?: BedInfo): BedInfo {
  const aws = settings.aws;
  const kube = settings.kubeconfig ? clusterOf(settings.kubeconfig) : undefined;
  return {
    stateDir: base?.stateDir ?? stateDir,
    aws: aws
      ? {
          endpoint: aws.endpoint ?? "",
          region: aws.region,
          accessKeyId: aws.accessKeyId,
          secretAccessKey: aws.secretAccessKey,
        }
      : requireBase(base).aws,
    cluster: kube ?? requireBase(base).cluster,
    kubeconfigs: settings.kubeconfig
      ? { admin: settings.kubeconfig, functions: settings.kubeconfig }
      : // The bed's exec-token kubeconfig signs with the bed's moto, which is not the target: its admin, then.
        { admin: requireBase(base).kubeconfigs.admin, functions: requireBase(base).kubeconfigs.admin },
    identities: aws ? {} : requireBase(base).identities,
    iamFile: base?.iamFile ?? "",
    kubectl: base?.kubectl ?? targetKubectl(),
    nodes: settings.kubeconfig ? [] : requireBase(base).nodes,
    node: settings.kubeconfig ? undefined : base?.node,
    logs: base?.logs ?? {},
  };
}

function requireBase(base: BedInfo | undefined): BedInfo {
  if (!base) throw new Error("a half of the target is the bed, but no bed was started");
  return base;
}

function clusterOf(kubeconfig: string): BedInfo["cluster"] {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`DROPBUILD_TEST_KUBECONFIG: ${kubeconfig} has no current cluster`);
  return { name: cluster.name, endpoint: cluster.server, caFile: cluster.caFile ?? "", kubernetesVersion: "" };
}
