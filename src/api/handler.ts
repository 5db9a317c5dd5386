import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { pageRoutes } from "../dashboard/pages.js";
import { ClusterUnavailableError } from "../kube/cluster.js";
import type { Logger } from "../log.js";
import { InvalidCursorError } from "../store/builds.js";
import type { ApiDeps } from "./deps.js";
import { type ApiResult, problem } from "./http.js";
import { createRouter } from "./router.js";
import { apiRoutes } from "./routes.js";

export type { ApiDeps } from "./deps.js";

/**
 * The HTTP API (IAM-authenticated in serverless.yml) and the status page it
 * serves: the operations are listed in src/api/openapi.ts, served at
 * /openapi.json, and the routes are checked against it by the tests.
 */
export function createApiHandler(deps: ApiDeps, logger: Logger) {
  const route = createRouter([...apiRoutes(deps), ...pageRoutes(deps)]);
  return async (event: APIGatewayProxyEventV2): Promise<ApiResult> => {
    try {
      return await route(event);
    } catch (error: unknown) {
      if (error instanceof InvalidCursorError) return problem(400, error.message);
      if (error instanceof ClusterUnavailableError) {
        logger.warn("cluster unavailable", { error: error.message });
        return problem(503, `the cluster could not be reached; try again (${error.message.slice(0, 300)})`);
      }
      logger.error("request failed", error as Error);
      return problem(500, "internal error; see the function's logs");
    }
  };
}
