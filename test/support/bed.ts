import { BatchV1Api, CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";
import type { BedInfo } from "../../bed/state.js";

export function bed(): BedInfo {
  return inject("bed");
}

/** AWS SDK client settings for the bed's emulator, as the admin identity. */
export function awsConfig(info: BedInfo = bed()) {
  return {
    endpoint: info.aws.endpoint,
    region: info.aws.region,
    forcePathStyle: true,
    credentials: { accessKeyId: info.aws.accessKeyId, secretAccessKey: info.aws.secretAccessKey },
  };
}

export function adminKubeConfig(info: BedInfo = bed()): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfigs.admin);
  return kc;
}

/** A client that presents `token` as its bearer token, as the functions do. */
export function tokenKubeConfig(token: string, info: BedInfo = bed()): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: info.cluster.name, server: info.cluster.endpoint, caFile: info.cluster.caFile }],
    users: [{ name: "token", token }],
    contexts: [{ name: "ctx", cluster: info.cluster.name, user: "token" }],
    currentContext: "ctx",
  });
  return kc;
}

export function admin(info: BedInfo = bed()) {
  const kc = adminKubeConfig(info);
  return { core: kc.makeApiClient(CoreV1Api), batch: kc.makeApiClient(BatchV1Api) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll until `check` returns a value, or fail with `what` after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error: unknown) {
      last = error;
    }
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ""}`);
}

let counter = 0;
/** A DNS-1123 name unique within this test run. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`.slice(0, 63);
}
