import type { ApiDeps } from "../api/deps.js";
import { type ApiResult, html } from "../api/http.js";
import type { Route } from "../api/router.js";
import { LIST_PARAMETERS } from "../api/routes.js";
import { isTerminal } from "../build/record.js";
import { readBuildLog } from "../builds/log.js";
import { parseListQuery } from "../builds/query.js";
import { readQueue } from "../builds/queue-view.js";
import { ClusterUnavailableError } from "../kube/cluster.js";
import { renderBuildPage } from "./build-page.js";
import { errorPage } from "./layout.js";
import { renderListPage } from "./list-page.js";
import { renderQueuePage } from "./queue-page.js";

/** The range a repository's charts cover when the filters give none. */
const DEFAULT_HISTORY_MS = 30 * 86_400_000;
/** At most this many builds are drawn. */
const HISTORY_LIMIT = 1000;

async function listPage(deps: ApiDeps, title: string, filters: Record<string, string | undefined>): Promise<ApiResult> {
  const now = deps.now();
  const query = parseListQuery(filters, now);
  if (!query.ok) return html(400, renderListPage({ title, now, filters, records: [], error: query.reason }));
  const page = await deps.store.query(query.value);
  let history: { records: typeof page.records; from: Date; to: Date } | undefined;
  if (query.value.repository) {
    const to = query.value.until ? new Date(query.value.until) : now;
    const from = query.value.since ? new Date(query.value.since) : new Date(to.getTime() - DEFAULT_HISTORY_MS);
    const range = { ...query.value, since: from.toISOString(), until: to.toISOString(), cursor: undefined };
    const all = await deps.store.query({ ...range, status: undefined, limit: HISTORY_LIMIT });
    history = { records: all.records, from, to };
  }
  return html(200, renderListPage({ title, now, filters, records: page.records, cursor: page.cursor, history }));
}

/** The status page's routes, served by the API function beside the JSON (see the OpenAPI document). */
export function pageRoutes(deps: ApiDeps): Route[] {
  const title = deps.title ?? "dropbuild";
  const refuse = (status: number, message: string) => html(status, errorPage(message, title));
  return [
    {
      method: "GET",
      path: "/",
      query: LIST_PARAMETERS,
      refuse,
      handle: ({ query }) => listPage(deps, title, query),
    },
    {
      method: "GET",
      path: "/ui/builds/{id}",
      query: [],
      refuse,
      async handle({ params }) {
        const id = params.id ?? "";
        const log = await readBuildLog(id, deps).catch((error: unknown) => {
          if (error instanceof ClusterUnavailableError) return readBuildLog(id, { ...deps, cluster: undefined });
          throw error;
        });
        const record = log && (await deps.store.get(id));
        if (!log || !record) return refuse(404, `no build with id ${id}`);
        const canCancel = deps.cluster !== undefined && !isTerminal(record.status);
        return html(200, renderBuildPage({ title, record, log, canCancel }));
      },
    },
    {
      method: "GET",
      path: "/ui/queue",
      query: [],
      refuse,
      async handle() {
        if (!deps.cluster) return refuse(503, "this API has no cluster access to read the queue");
        try {
          const view = await readQueue({ ...deps, cluster: deps.cluster, cap: deps.maxConcurrentBuilds });
          return html(200, renderQueuePage(view, deps.now(), title));
        } catch (error: unknown) {
          if (error instanceof ClusterUnavailableError)
            return refuse(503, `the cluster could not be reached: ${error.message}`);
          throw error;
        }
      },
    },
  ];
}
