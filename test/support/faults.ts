import { join } from "node:path";
import type { BuildRecord } from "../../src/build/record.js";
import { KubernetesBuildCluster } from "../../src/kube/cluster.js";
import type { ReconcileDeps } from "../../src/reconcile/reconcile.js";
import type { SubmitDeps } from "../../src/trigger/submit-upload.js";
import { makeBuildStore, makeConnector } from "../../src/wiring.js";
import { admin, bed, eventually } from "./bed.js";
import { submitSample } from "./builds.js";
import type { deployOnBed } from "./deployment.js";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.js";

type Deployment = Awaited<ReturnType<typeof deployOnBed>>;

/** A fault proxy in front of the bed's kube-apiserver, serving its certificate (so the cluster's CA trusts it). */
export function kubernetesFaultProxy(info = bed()): Promise<FaultProxy> {
  const pki = join(info.stateDir, "pki");
  return startFaultProxy({
    upstream: info.cluster.endpoint,
    upstreamCa: info.cluster.caFile,
    tls: { certFile: join(pki, "apiserver.crt"), keyFile: join(pki, "apiserver.key") },
  });
}

/** A fault proxy in front of the bed's AWS emulator. */
export function awsFaultProxy(info = bed()): Promise<FaultProxy> {
  return startFaultProxy({ upstream: info.aws.endpoint });
}

/**
 * The deployment's trigger and reconciler dependencies, with their Kubernetes
 * calls (`cluster`) and/or their table calls (`table`) going through a proxy.
 * Everything else is the deployment's own wiring.
 */
export function throughProxies(env: Deployment, proxies: { cluster?: FaultProxy; table?: FaultProxy }) {
  const connect = makeConnector(env.config, env.credentials);
  const cluster = proxies.cluster
    ? new KubernetesBuildCluster(async () => ({ ...(await connect()), server: proxies.cluster?.url ?? "" }))
    : env.reconcileDeps.cluster;
  const store = proxies.table
    ? makeBuildStore({ ...env.config, awsEndpoint: proxies.table.url }, env.credentials)
    : env.deps.store;
  return {
    deps: { ...env.deps, cluster, store } satisfies SubmitDeps,
    reconcileDeps: { ...env.reconcileDeps, cluster, store } satisfies ReconcileDeps,
  };
}

/** The build's Job as the API server has it now (undefined once it is gone). */
export async function jobOf(id: string) {
  const { batch } = admin();
  return batch.readNamespacedJob({ name: `dropbuild-${id}`, namespace: "dropbuild" }).catch(() => undefined);
}

/** `count` quick simulated builds under contexts/<prefix>/, submitted and finished by kwok, not yet reconciled. */
export async function finishedBuilds(env: Deployment, prefix: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 1; n <= count; n += 1) {
    ids.push(await submitSample(env, `contexts/${prefix}/${n}.tar.gz`, { DROPBUILD_SIMULATE_DURATION_MS: "100" }));
  }
  await eventually(
    "the builds' Jobs to finish",
    async () => {
      for (const id of ids) {
        const conditions = (await jobOf(id))?.status?.conditions ?? [];
        if (!conditions.some((c) => ["Complete", "Failed"].includes(c.type) && c.status === "True")) return undefined;
      }
      return true;
    },
    60_000,
  );
  return ids;
}

/** The builds' records as stored now, in the order of `ids`. */
export async function recordsOf(env: Deployment, ids: string[]): Promise<BuildRecord[]> {
  const list = await Promise.all(ids.map((id) => env.deps.store.get(id)));
  return list.filter((r): r is BuildRecord => Boolean(r));
}
