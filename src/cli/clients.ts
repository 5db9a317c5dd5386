import type { ClientConfig } from "../config.js";
import { KubernetesBuildCluster, type ReconcileCluster } from "../kube/cluster.js";
import { makeBuildEvents, makeBuildStore, makeConnector, makeLogArchive, makeS3 } from "../wiring.js";

/** The AWS and cluster clients a person's command needs, made once from their configuration. */
export function clientsFor(config: ClientConfig) {
  const cluster: ReconcileCluster | undefined = config.cluster
    ? new KubernetesBuildCluster(makeConnector({ ...config, cluster: config.cluster }))
    : undefined;
  return {
    config,
    s3: makeS3(config),
    store: makeBuildStore(config),
    logs: makeLogArchive(config),
    events: makeBuildEvents(config),
    cluster,
  };
}

export type Clients = ReturnType<typeof clientsFor>;
