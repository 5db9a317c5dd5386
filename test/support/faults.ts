import { join } from "node:path";
import { KubernetesBuildCluster } from "../../src/kube/cluster.js";
import type { ReconcileDeps } from "../../src/reconcile/reconcile.js";
import type { SubmitDeps } from "../../src/trigger/submit-upload.js";
import { makeBuildStore, makeConnector } from "../../src/wiring.js";
import { bed } from "./bed.js";
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
