import { cancelBuild } from "../builds/cancel.js";
import { COST_PARAMETERS, parseCostQuery, repositoryCosts } from "../builds/costs.js";
import { readBuildLog } from "../builds/log.js";
import { LIST_PARAMETERS, listBuilds, parseListQuery } from "../builds/query.js";
import { readApiQueue } from "../builds/queue-view.js";
import type { ApiDeps } from "./deps.js";
import { json, problem } from "./http.js";
import { openApiDocument } from "./openapi.js";
import type { Route } from "./router.js";

/** Characters of log per answer: well inside Lambda's 6 MB response, even JSON-escaped; read on from `offset`. */
export const LOG_READ_MAX = 1_000_000;

const notFound = (id: string) => problem(404, `no build with id ${id}`);
const noCluster = (what: string) => problem(503, `this API has no cluster access to ${what}`);

/** A pod name as Kubernetes allows it (DNS-1123 subdomain), or "" for the archive. */
const POD_NAME = /^$|^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** A log offset: characters of the log the reader already has. */
function parseOffset(value: string | undefined): number | string {
  if (value === undefined) return 0;
  const offset = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(offset))
    return `offset ${JSON.stringify(value.slice(0, 80))} must be a whole number of characters, 0 or more`;
  return offset;
}

/**
 * The JSON API. Same filters and same JSON as the CLI's `--json` output;
 * every bad parameter is a 400 whose message starts with its name, and
 * nothing a caller sends reaches DynamoDB or the cluster unchecked.
 */
export function apiRoutes(deps: ApiDeps): Route[] {
  return [...readRoutes(deps), ...actionRoutes(deps)];
}

/** Reading builds and their logs. */
function readRoutes(deps: ApiDeps): Route[] {
  return [
    {
      method: "GET",
      path: "/builds",
      query: LIST_PARAMETERS,
      async handle({ query }) {
        const parsed = parseListQuery(query, deps.now());
        if (!parsed.ok) return problem(400, parsed.reason);
        return json(200, await listBuilds(deps.store, parsed.value));
      },
    },
    {
      method: "GET",
      path: "/costs",
      query: COST_PARAMETERS,
      async handle({ query }) {
        const parsed = parseCostQuery(query, deps.now());
        if (!parsed.ok) return problem(400, parsed.reason);
        const costs = await repositoryCosts(deps.store, parsed.value);
        return costs.ok ? json(200, costs.value) : problem(400, costs.reason);
      },
    },
    {
      method: "GET",
      path: "/builds/{id}",
      query: [],
      async handle({ params }) {
        const record = await deps.store.get(params.id ?? "");
        return record ? json(200, record) : notFound(params.id ?? "");
      },
    },
    {
      method: "GET",
      path: "/builds/{id}/log",
      query: ["offset", "pod"],
      async handle({ params, query }) {
        const offset = parseOffset(query.offset);
        if (typeof offset === "string") return problem(400, offset);
        const pod = query.pod;
        if (pod !== undefined && !POD_NAME.test(pod))
          return problem(400, `pod ${JSON.stringify(pod.slice(0, 80))} is not a pod name (or "" for the archive)`);
        const log = await readBuildLog(params.id ?? "", deps, { offset, pod, max: LOG_READ_MAX });
        return log ? json(200, log) : notFound(params.id ?? "");
      },
    },
  ];
}

/** Cancelling, the queue, and this API's description. */
function actionRoutes(deps: ApiDeps): Route[] {
  return [
    {
      method: "POST",
      path: "/builds/{id}/cancel",
      query: [],
      async handle({ params, caller }) {
        const id = params.id ?? "";
        if (!deps.cluster) return noCluster("cancel builds");
        const result = await cancelBuild(id, { ...deps, cluster: deps.cluster }, caller ?? "the dropbuild API");
        if (result.outcome === "not-found") return notFound(id);
        if (result.outcome === "already-finished") {
          const error = `build ${id} already finished (${result.record.status}); there is nothing to cancel`;
          return problem(409, error, result);
        }
        return json(200, result);
      },
    },
    {
      method: "GET",
      path: "/queue",
      query: [],
      async handle() {
        const view = await readApiQueue(deps);
        return typeof view === "string" ? problem(503, view) : json(200, view);
      },
    },
    {
      method: "GET",
      path: "/openapi.json",
      query: [],
      handle: async () => json(200, openApiDocument),
    },
  ];
}
