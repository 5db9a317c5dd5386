import { type CostTotals, sumCosts } from "../build/cost.js";
import type { BuildRecord } from "../build/record.js";
import { accept, type Checked, refuse } from "../build/result.js";
import type { BuildQueries, RecordQuery } from "../store/ports.js";
import { parseListQuery } from "./query.js";

/** GET /costs's parameters. */
export const COST_PARAMETERS = ["repository", "since", "until"] as const;

/** Most records summed for one answer; past it the answer says it is partial. */
export const COST_RECORD_LIMIT = 10_000;
/** The range when `since` is not given. */
const DEFAULT_RANGE = "30d";

export interface RepositoryCosts extends CostTotals {
  repository: string;
  since: string;
  until?: string;
  /** More than COST_RECORD_LIMIT builds were in the range: the totals are of the newest that many. */
  truncated: boolean;
}

/** The repository (required) and the range (30 days unless since says otherwise), checked like the list's filters. */
export function parseCostQuery(raw: Record<string, string | undefined>, now: Date): Checked<RecordQuery> {
  if (!raw.repository) return refuse("repository is required: costs are totalled per repository");
  return parseListQuery({ repository: raw.repository, since: raw.since || DEFAULT_RANGE, until: raw.until }, now);
}

/** A repository's build costs over a range, summed from its records (by index, newest first, no scan). */
export async function repositoryCosts(store: BuildQueries, query: RecordQuery): Promise<Checked<RepositoryCosts>> {
  const { repository, since } = query;
  if (!repository || !since) return refuse("repository and since are required");
  // Only each record's cost is kept, page by page.
  const costs: Pick<BuildRecord, "cost">[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.query({ ...query, limit: 1000, cursor });
    for (const record of page.records) costs.push({ cost: record.cost });
    cursor = page.cursor;
  } while (cursor && costs.length < COST_RECORD_LIMIT);
  return accept({
    repository,
    since,
    ...(query.until ? { until: query.until } : {}),
    ...sumCosts(costs.slice(0, COST_RECORD_LIMIT)),
    truncated: Boolean(cursor) || costs.length > COST_RECORD_LIMIT,
  });
}
