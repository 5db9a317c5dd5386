import { BUILD_STATUSES, type BuildRecord, type BuildStatus } from "../build/record.js";
import { checkRepository } from "../build/reference.js";
import { accept, type Checked, refuse } from "../build/result.js";
import type { BuildQueries, RecordQuery } from "../store/ports.js";

/** What list endpoints (CLI and API) return: one shape, so scripts can switch freely. */
export interface BuildList {
  builds: BuildRecord[];
  cursor?: string;
}

/** The list filters, by name: `builds list`'s flags, GET /builds's and the status page's parameters. */
export const LIST_PARAMETERS = ["repository", "status", "since", "until", "limit", "cursor"] as const;

const RELATIVE = /^(\d+)\s*(s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `--since` and `--until` accept an ISO time or an age such as 30m, 12h, 7d. */
export function parseTime(name: "since" | "until", value: string, now: Date): Checked<string> {
  const relative = RELATIVE.exec(value.trim());
  const time = relative
    ? new Date(now.getTime() - Number(relative[1]) * (UNIT_MS[relative[2] ?? "s"] ?? 0))
    : new Date(value);
  // An age further back than any date (e.g. 99999999999999w) is an invalid Date too.
  if (Number.isNaN(time.getTime()))
    return refuse(
      `${name} ${JSON.stringify(value.slice(0, 80))} is neither an ISO time nor an age like 30m, 12h or 7d (back to year 1)`,
    );
  return accept(time.toISOString());
}

/**
 * Filters shared by `dropbuild builds list`, `GET /builds` and the status
 * page: repository, status, since, until, limit, cursor. Bad input gets a reason naming the filter.
 */
export function parseListQuery(raw: Record<string, string | undefined>, now: Date): Checked<RecordQuery> {
  const query: RecordQuery = {};
  if (raw.repository) {
    // "-" groups the rejected uploads whose key named no valid repository.
    const repository = raw.repository === "-" ? accept("-") : checkRepository(raw.repository, "");
    if (!repository.ok) return refuse(repository.reason);
    query.repository = repository.value;
  }
  if (raw.status) {
    const status = raw.status.toUpperCase();
    if (!BUILD_STATUSES.includes(status as BuildStatus)) {
      return refuse(`status "${raw.status}" is not one of ${BUILD_STATUSES.join(", ")}`);
    }
    query.status = status as BuildStatus;
  }
  for (const bound of ["since", "until"] as const) {
    const value = raw[bound];
    if (!value) continue;
    const time = parseTime(bound, value, now);
    if (!time.ok) return time;
    query[bound] = time.value;
  }
  if (query.since && query.until && query.until < query.since)
    return refuse(`until ${JSON.stringify(raw.until)} is before since ${JSON.stringify(raw.since)}`);
  if (raw.limit !== undefined) {
    const limit = Number(raw.limit);
    if (!/^\d+$/.test(raw.limit) || limit < 1 || limit > 1000)
      return refuse(`limit "${raw.limit}" must be a whole number from 1 to 1000`);
    query.limit = limit;
  }
  if (raw.cursor) query.cursor = raw.cursor;
  return accept(query);
}

/**
 * A page of builds, each without its pinned Dockerfile (up to 64 KiB each:
 * a page of 1000 could pass Lambda's 6 MB answer); GET /builds/{id} and
 * `builds show` have it.
 */
export async function listBuilds(store: BuildQueries, query: RecordQuery): Promise<BuildList> {
  const page = await store.query(query);
  const builds = page.records.map(({ pinnedDockerfile: _pinned, ...record }) => record);
  return page.cursor ? { builds, cursor: page.cursor } : { builds };
}
