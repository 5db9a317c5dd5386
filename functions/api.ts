/** Lambda entry for the HTTP API (IAM-authenticated): wiring only; routes in src/api. */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { createApiHandler } from "../src/api/handler.js";
import { loadConfig } from "../src/config.js";
import { KubernetesBuildCluster } from "../src/kube/cluster.js";
import { createLogger } from "../src/log.js";
import { makeBuildEvents, makeBuildStore, makeConnector, makeLogArchive } from "../src/wiring.js";

const config = loadConfig();
const handle = createApiHandler(
  {
    store: makeBuildStore(config),
    cancel: {
      cluster: new KubernetesBuildCluster(makeConnector(config)),
      logs: makeLogArchive(config),
      events: makeBuildEvents(config),
      namespace: config.namespace,
      now: () => new Date(),
    },
    now: () => new Date(),
  },
  createLogger("dropbuild-api"),
);

export const handler = (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => handle(event);
