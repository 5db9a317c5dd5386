import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { type CancelDeps, cancelBuild } from "../builds/cancel.js";
import { listBuilds, parseListQuery } from "../builds/query.js";
import type { Logger } from "../log.js";
import { InvalidCursorError } from "../store/builds.js";
import type { BuildLedger, BuildQueries } from "../store/ports.js";

export interface ApiDeps {
  /** Reads pages and records; cancel writes through the ledger. */
  store: BuildLedger & BuildQueries;
  /** Absent where the API has no cluster access: cancel then answers 503. */
  cancel?: Omit<CancelDeps, "store">;
  now: () => Date;
}

const json = (statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

const BUILD_PATH = /^\/builds\/([^/]+)$/;
const CANCEL_PATH = /^\/builds\/([^/]+)\/cancel$/;
/** Build ids are derived from the upload: 16 lowercase hex digits (src/build/identity.ts). */
const BUILD_ID = /^[0-9a-f]{16}$/;
const LIST_PARAMETERS = ["repository", "status", "since", "limit", "cursor"];

const badId = (id: string) =>
  json(400, { error: `id ${JSON.stringify(id.slice(0, 80))} is not a build id (16 lowercase hex digits)` });

/** A parameter /builds does not take is a mistake to point out (a typo would otherwise list everything). */
function unknownParameter(query: Record<string, string | undefined>): string | undefined {
  const unknown = Object.keys(query).find((name) => !LIST_PARAMETERS.includes(name));
  if (unknown === undefined) return undefined;
  return `unknown parameter ${JSON.stringify(unknown.slice(0, 80))}; /builds takes ${LIST_PARAMETERS.join(", ")}`;
}

/**
 * The HTTP API (IAM-authenticated in serverless.yml):
 *   GET  /builds?repository=&status=&since=&limit=&cursor=   → { builds, cursor? }
 *   GET  /builds/{id}                                        → the record
 *   POST /builds/{id}/cancel                                 → { outcome, record }
 * Same filters and same JSON as `dropbuild builds list --json`. Every bad
 * parameter (id included) is a 400 whose message starts with its name;
 * nothing a caller sends reaches DynamoDB unchecked.
 */
export function createApiHandler(deps: ApiDeps, logger: Logger) {
  return async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
    const method = event.requestContext?.http?.method ?? "GET";
    const path = (event.rawPath ?? "/").replace(/\/+$/, "") || "/";
    try {
      if (path === "/builds") {
        if (method !== "GET") return json(405, { error: `${method} is not allowed on /builds` });
        const parameters = event.queryStringParameters ?? {};
        const unknown = unknownParameter(parameters);
        if (unknown) return json(400, { error: unknown });
        const query = parseListQuery(parameters, deps.now());
        if (!query.ok) return json(400, { error: query.reason });
        return json(200, await listBuilds(deps.store, query.value));
      }
      const cancel = CANCEL_PATH.exec(path);
      if (cancel?.[1]) {
        if (method !== "POST") return json(405, { error: "use POST to cancel a build" });
        if (!BUILD_ID.test(cancel[1])) return badId(cancel[1]);
        if (!deps.cancel) return json(503, { error: "this API has no cluster access to cancel builds" });
        // With IAM authorization, API Gateway passes the caller's ARN in the authorizer context.
        const context = event.requestContext as { authorizer?: { iam?: { userArn?: string } } };
        const caller = context.authorizer?.iam?.userArn;
        const result = await cancelBuild(
          cancel[1],
          { ...deps.cancel, store: deps.store },
          caller ?? "the dropbuild API",
        );
        if (result.outcome === "not-found") return json(404, { error: `no build with id ${cancel[1]}` });
        if (result.outcome === "already-finished") {
          const error = `build ${cancel[1]} already finished (${result.record.status}); there is nothing to cancel`;
          return json(409, { error, ...result });
        }
        return json(200, result);
      }
      const show = BUILD_PATH.exec(path);
      if (show?.[1]) {
        if (method !== "GET") return json(405, { error: `${method} is not allowed on a build` });
        if (!BUILD_ID.test(show[1])) return badId(show[1]);
        const record = await deps.store.get(show[1]);
        return record ? json(200, record) : json(404, { error: `no build with id ${show[1]}` });
      }
      return json(404, { error: `no route for ${method} ${path}` });
    } catch (error: unknown) {
      if (error instanceof InvalidCursorError) return json(400, { error: error.message });
      logger.error("request failed", error as Error);
      return json(500, { error: "internal error; see the function's logs" });
    }
  };
}
