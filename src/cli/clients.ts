import type { AwsCredentialIdentity } from "@smithy/types";
import { S3LogArchive } from "../aws/log-archive.js";
import type { ClientConfig } from "../config.js";
import { KubernetesBuildCluster, type ReconcileCluster } from "../kube/cluster.js";
import { makeBuildEvents, makeBuildStore, makeConnector, makeS3 } from "../wiring.js";

/** The AWS and cluster clients a person's command needs, made once from their configuration. */
export function clientsFor(config: ClientConfig, credentials?: AwsCredentialIdentity) {
  const cluster: ReconcileCluster | undefined = config.cluster
    ? new KubernetesBuildCluster(makeConnector({ ...config, cluster: config.cluster }, credentials))
    : undefined;
  const s3 = makeS3(config, credentials);
  return {
    config,
    s3,
    store: makeBuildStore(config, credentials),
    logs: new S3LogArchive(s3, config.bucket),
    events: makeBuildEvents(config, credentials),
    cluster,
  };
}

export type Clients = ReturnType<typeof clientsFor>;
