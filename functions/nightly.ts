/** Lambda entry for nightly rebuilds (cron) and dropbuild.rebuild events: wiring only; logic in src/rebuild. */
import { loadConfig } from "../src/config.js";
import { KubernetesBuildCluster } from "../src/kube/cluster.js";
import { createLogger } from "../src/log.js";
import { S3ContextCatalog } from "../src/rebuild/catalog.js";
import { createRebuildHandler } from "../src/rebuild/handler.js";
import { makeBuildStore, makeConnector, makeS3, S3ContextObjects, submitSettings } from "../src/wiring.js";

const config = loadConfig();
const s3 = makeS3(config);
const handle = createRebuildHandler(
  {
    catalog: new S3ContextCatalog(s3, config.bucket),
    submit: {
      objects: new S3ContextObjects(s3),
      store: makeBuildStore(config),
      cluster: new KubernetesBuildCluster(makeConnector(config)),
      settings: submitSettings(config),
      now: () => new Date(),
    },
    nightlyRepositories: config.nightlyRepositories,
    nightlyTagFormat: config.nightlyTagFormat,
  },
  createLogger("dropbuild-nightly"),
);

export const handler = (event: unknown) => handle(event);
