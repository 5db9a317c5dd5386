import type { ApiDeps } from "../api/deps.js";
import { type ApiResult, html } from "../api/http.js";
import type { Route } from "../api/router.js";
import { type BuildRecord, isTerminal } from "../build/record.js";
import { readLogOf } from "../builds/log.js";
import { LIST_PARAMETERS, parseListQuery } from "../builds/query.js";
import { readApiQueue } from "../builds/queue-view.js";
import { ClusterUnavailableError } from "../kube/cluster.js";
import { InvalidCursorError } from "../store/builds.js";
import type { RecordQuery } from "../store/ports.js";
import { renderBuildPage } from "./build-page.js";
import { errorPage } from "./layout.js";
import { type ListPageData, renderListPage } from "./list-page.js";
import { renderQueuePage } from "./queue-page.js";

/** The range a repository's charts cover when the filters give none. */
const DEFAULT_HISTORY_MS = 30 * 86_400_000;
/** At most this many builds are drawn. */
export const HISTORY_LIMIT = 1000;
/** The end of a long log the build page shows (the API reads the rest). */
const PAGE_LOG_TAIL = 256 * 1024;

/** One repository's builds over the filters' range (30 days by default), for its charts; none for an empty range. */
async function repositoryHistory(deps: ApiDeps, query: RecordQuery, now: Date): Promise<ListPageData["history"]> {
  const to = query.until ? new Date(query.until) : now;
  const from = query.since ? new Date(query.since) : new Date(to.getTime() - DEFAULT_HISTORY_MS);
  if (from > to) return undefined;
  const range = { repository: query.repository, since: from.toISOString(), until: to.toISOString() };
  const page = await deps.store.query({ ...range, limit: HISTORY_LIMIT });
  return { records: page.records, from, to, capped: page.cursor !== undefined };
}

async function listPage(deps: ApiDeps, title: string, filters: Record<string, string | undefined>): Promise<ApiResult> {
  const now = deps.now();
  const query = parseListQuery(filters, now);
  const refused = (error: string) => html(400, renderListPage({ title, now, filters, records: [], error }));
  if (!query.ok) return refused(query.reason);
  let page: { records: BuildRecord[]; cursor?: string };
  try {
    page = await deps.store.query(query.value);
  } catch (error: unknown) {
    if (error instanceof InvalidCursorError) return refused(error.message);
    throw error;
  }
  const data: ListPageData = {
    title,
    now,
    filters,
    records: page.records,
    cursor: page.cursor,
    // The next page continues this one's time range, not one an age in the URL has moved since.
    pagingFilters: { ...filters, since: query.value.since, until: query.value.until },
  };
  if (query.value.repository) data.history = await repositoryHistory(deps, query.value, now);
  const unfiltered = LIST_PARAMETERS.every((name) => name === "limit" || !filters[name]);
  if (unfiltered) {
    const since = new Date(now.getTime() - 86_400_000).toISOString();
    data.lastDay = (await deps.store.query({ since, limit: HISTORY_LIMIT })).records;
  }
  return html(200, renderListPage(data));
}

async function buildPage(deps: ApiDeps, title: string, id: string, refuse: Route["refuse"] & {}): Promise<ApiResult> {
  const record = await deps.store.get(id);
  if (!record) return refuse(404, `no build with id ${id}`);
  const at = { offset: 0, tail: PAGE_LOG_TAIL };
  const log = await readLogOf(record, deps, at).catch(async (error: unknown) => {
    if (!(error instanceof ClusterUnavailableError)) throw error;
    const archived = await readLogOf(record, { ...deps, cluster: undefined }, at);
    return { ...archived, note: "the cluster could not be reached to read the live log; the page tries again" };
  });
  const canCancel = deps.cluster !== undefined && !isTerminal(record.status);
  return html(200, renderBuildPage({ title, record, log, canCancel }));
}

/** The status page's routes, served by the API function beside the JSON (see the OpenAPI document). */
export function pageRoutes(deps: ApiDeps): Route[] {
  const title = deps.title ?? "dropbuild";
  const refuse = (status: number, message: string) => html(status, errorPage(message, title));
  return [
    { method: "GET", path: "/", query: LIST_PARAMETERS, refuse, handle: ({ query }) => listPage(deps, title, query) },
    {
      method: "GET",
      path: "/ui/builds/{id}",
      query: [],
      refuse,
      handle: ({ params }) => buildPage(deps, title, params.id ?? "", refuse),
    },
    {
      method: "GET",
      path: "/ui/queue",
      query: [],
      refuse,
      async handle() {
        const view = await readApiQueue(deps);
        return typeof view === "string" ? refuse(503, view) : html(200, renderQueuePage(view, deps.now(), title));
      },
    },
  ];
}
