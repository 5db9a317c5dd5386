import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { pageRoutes } from "../dashboard/pages.js";
import { ClusterUnavailableError } from "../kube/cluster.js";
import type { Logger } from "../log.js";
import { InvalidCursorError } from "../store/builds.js";
import type { ApiDeps } from "./deps.js";
import { type ApiResult, problem } from "./http.js";
import { createRouter, type OnError } from "./router.js";
import { apiRoutes } from "./routes.js";

export type { ApiDeps } from "./deps.js";

/**
 * The HTTP API (IAM-authenticated in serverless.yml) and the status page it
 * serves: the operations are listed in src/api/openapi.ts, served at
 * /openapi.json, and the routes are checked against it by the tests.
 */
export function createApiHandler(deps: ApiDeps, logger: Logger) {
  const onError: OnError = (error, refuse) => {
    if (error instanceof InvalidCursorError) return refuse(400, error.message);
    if (error instanceof ClusterUnavailableError) {
      logger.warn("cluster unavailable", { error: error.message });
      return refuse(503, `the cluster could not be reached; try again (${error.message.slice(0, 300)})`);
    }
    logger.error("request failed", error as Error);
    return refuse(500, "internal error; see the function's logs");
  };
  const route = createRouter([...apiRoutes(deps), ...pageRoutes(deps)], onError);
  return async (event: APIGatewayProxyEventV2): Promise<ApiResult> => {
    try {
      return await route(event);
    } catch (error: unknown) {
      return onError(error, problem);
    }
  };
}
