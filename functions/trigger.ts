/** Lambda entry for S3 ObjectCreated under contexts/: wiring only; the logic is in src/trigger. */
import type { S3Event } from "aws-lambda";
import { loadConfig } from "../src/config.js";
import { KubernetesBuildCluster } from "../src/kube/cluster.js";
import { createLogger } from "../src/log.js";
import { createTriggerHandler, type TriggerResult } from "../src/trigger/handler.js";
import { makeBuildStore, makeConnector, makeS3, S3ContextObjects, submitSettings } from "../src/wiring.js";

const config = loadConfig();
const logger = createLogger("dropbuild-trigger");
const submit = createTriggerHandler(
  {
    objects: new S3ContextObjects(makeS3(config)),
    store: makeBuildStore(config),
    cluster: new KubernetesBuildCluster(makeConnector(config)),
    settings: submitSettings(config),
    now: () => new Date(),
  },
  logger,
);

export const handler = (event: S3Event): Promise<TriggerResult> => submit(event);
