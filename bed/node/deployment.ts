import { readFileSync } from "node:fs";
import { applyManifests } from "../../src/local/provision.js";
import type { RealNodeInfo } from "./node.js";

/** The names under which the bed's registry credentials and CA are given to a deployment's namespace. */
export const BED_REGISTRY_OBJECTS = { secret: "dropbuild-registry", caConfigMap: "dropbuild-registry-ca" } as const;

/**
 * The functions' configuration for real builds on the bed: the bed registry
 * stands in for ECR (destination, base-image mirror, and where the bed's
 * kaniko, staging and unpack images live), trusted through its CA; pods reach
 * the AWS emulator at the bridge address. Only configurable values differ
 * from production; requests are sized for a 2-core machine.
 */
export function realBuildEnvironment(node: RealNodeInfo): Record<string, string> {
  const { host, images } = node.registry;
  return {
    SIMULATED_BUILDS: "false",
    REGISTRY: host,
    KANIKO_IMAGE: `${host}/${images.kaniko}`,
    STAGING_IMAGE: `${host}/${images.staging}`,
    UNPACK_IMAGE: `${host}/${images.busybox}`,
    KANIKO_REGISTRY_MIRROR: host,
    // Only the bed's registry is ever asked for a digest: an image named elsewhere is refused at upload.
    BASE_IMAGE_REGISTRIES: host,
    REGISTRY_SECRET: BED_REGISTRY_OBJECTS.secret,
    REGISTRY_CA_CONFIGMAP: BED_REGISTRY_OBJECTS.caConfigMap,
    BUILD_AWS_ENDPOINT_URL: node.awsEndpointForPods,
    BUILD_CPU_REQUEST: "250m",
    BUILD_MEMORY_REQUEST: "256Mi",
    BUILD_CPU_LIMIT: "2",
    BUILD_MEMORY_LIMIT: "2Gi",
  };
}

/** The registry Secret (docker config.json, as infra/k8s's template describes) and the CA ConfigMap. */
function realBuildManifests(node: RealNodeInfo, namespace: string): Record<string, unknown>[] {
  return [
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: BED_REGISTRY_OBJECTS.secret, namespace },
      type: "kubernetes.io/dockerconfigjson",
      stringData: { ".dockerconfigjson": node.registry.dockerConfigJson },
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: BED_REGISTRY_OBJECTS.caConfigMap, namespace },
      data: { "ca.crt": readFileSync(node.registry.caFile, "utf8") },
    },
  ];
}

/** Give a deployment's namespace the bed registry's Secret and CA, applied as a platform engineer would. */
export async function applyRealBuildObjects(
  kubectl: string,
  kubeconfig: string,
  node: RealNodeInfo,
  namespace: string,
): Promise<void> {
  const items = realBuildManifests(node, namespace);
  await applyManifests(kubectl, kubeconfig, JSON.stringify({ apiVersion: "v1", kind: "List", items }));
}
