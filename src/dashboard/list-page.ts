import { type CostTotals, sumCosts } from "../build/cost.js";
import { BUILD_STATUSES, type BuildRecord } from "../build/record.js";
import { LIST_PARAMETERS } from "../builds/query.js";
import { formatAge, formatDuration, shortDigest } from "../util/format.js";
import { durationChart, median, outcomeChart, successByDay, successRateChart } from "./charts.js";
import { buildHref, escapeHtml, imageName, layout, statusPill } from "./layout.js";

/** The list's filters as the reader typed them (they stay in the URL, so a reload keeps them). */
export interface ListFilters {
  repository?: string;
  status?: string;
  since?: string;
  until?: string;
  limit?: string;
}

export interface ListPageData {
  title: string;
  now: Date;
  filters: ListFilters;
  records: BuildRecord[];
  cursor?: string;
  /** The filters the "older" link carries: the time range resolved to ISO times. */
  pagingFilters?: ListFilters;
  /** A filter was wrong: the page says so instead of listing. */
  error?: string;
  /** One repository's builds over the range, for its charts; `capped`: only the newest HISTORY_LIMIT. */
  history?: { records: BuildRecord[]; from: Date; to: Date; capped: boolean };
  /** Unfiltered: every build of the last 24 hours, for the outcome chart. */
  lastDay?: BuildRecord[];
}

/** The filters a link carries over (the cursor is per page). */
const FILTER_NAMES = LIST_PARAMETERS.filter((name) => name !== "cursor");

function filterForm(filters: ListFilters): string {
  const input = (name: "repository" | "since" | "until", label: string, hint: string) =>
    `<label>${label}<input name="${name}" value="${escapeHtml(filters[name] ?? "")}" placeholder="${hint}"></label>`;
  const options = ["", ...BUILD_STATUSES]
    .map(
      (s) =>
        `<option value="${s}"${(filters.status ?? "").toUpperCase() === s ? " selected" : ""}>${s || "any"}</option>`,
    )
    .join("");
  return `<form class="filters" method="get" action="/" aria-label="filter builds">
${input("repository", "Repository", "team/api")}
<label>Status<select name="status">${options}</select></label>
${input("since", "Since", "7d or ISO time")}
${input("until", "Until", "1d or ISO time")}
${filters.limit ? `<input type="hidden" name="limit" value="${escapeHtml(filters.limit)}">` : ""}
<button type="submit">Filter</button> <a href="/">Clear</a>
</form>`;
}

/** The URL of this list with other parameters (empty ones left out). */
export function listHref(filters: ListFilters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const name of FILTER_NAMES) if (filters[name]) params.set(name, filters[name] ?? "");
  for (const [name, value] of Object.entries(extra)) params.set(name, value);
  const query = params.toString();
  return query ? `/?${query}` : "/";
}

function row(record: BuildRecord, now: Date): string {
  return `<tr data-build-id="${escapeHtml(record.id)}">
<td>${statusPill(record.status)}</td>
<td><a href="${buildHref(record.id)}">${escapeHtml(imageName(record))}</a>${record.status === "QUEUED" && record.queuePosition ? ` <span class="muted">#${record.queuePosition} in queue</span>` : ""}</td>
<td title="${escapeHtml(record.submittedAt)}">${formatAge(record.submittedAt, now)} ago</td>
<td>${formatDuration(record.durationSeconds)}</td>
<td class="wide"><code>${escapeHtml(shortDigest(record.digest))}</code></td>
<td class="wide muted reason">${escapeHtml(record.reason ?? "")}</td>
</tr>`;
}

/** The range's build costs in one sentence (the same totals GET /costs gives, over the builds drawn). */
function costLine(totals: CostTotals, capped: boolean): string {
  if (totals.builds === 0) return "No build in this range ran, so none has a cost.";
  const hours = (seconds: number) => (seconds / 3600).toFixed(seconds < 36 ? 3 : 2);
  const money = `${totals.estimate.toFixed(totals.estimate < 1 ? 4 : 2)} ${totals.currency ?? ""}`.trim();
  return `Cost${capped ? " of the newest builds drawn" : ""}: ${totals.builds} build${totals.builds === 1 ? "" : "s"} ran ${hours(totals.vcpuSeconds)} vCPU-hours and ${hours(totals.gibSeconds)} GiB-hours of requests, about ${money}.`;
}

function repositoryPanel(repository: string, history: NonNullable<ListPageData["history"]>): string {
  const days = successByDay(history.records, history.from, history.to);
  const finished = days.reduce((n, d) => n + d.finished, 0);
  const succeeded = days.reduce((n, d) => n + d.succeeded, 0);
  const durations = history.records
    .filter((r) => r.status === "SUCCEEDED" && r.durationSeconds !== undefined)
    .map((r) => r.durationSeconds ?? 0);
  const typical = median(durations);
  const summary = finished
    ? `${history.capped ? "Of the newest builds drawn, " : ""}${succeeded} of ${finished} finished builds succeeded (${Math.round((succeeded / finished) * 100)}%); median successful build ${typical === undefined ? "-" : formatDuration(Math.round(typical))}.`
    : "No finished builds in this range.";
  return `<section aria-labelledby="repo-charts"><h2 id="repo-charts">${escapeHtml(repository)} from ${history.from.toISOString().slice(0, 10)} to ${history.to.toISOString().slice(0, 10)}</h2>
<p class="summary">${escapeHtml(summary)}</p>
<p class="muted" data-field="cost">${escapeHtml(costLine(sumCosts(history.records), history.capped))}</p>
<h3 class="muted">Success rate per day</h3>${successRateChart(days)}
<h3 class="muted">Duration of each build</h3>${durationChart(history.records, history.from, history.to)}
</section>`;
}

/** The list of builds: filters kept in the URL, paging by cursor, and per-repository charts. */
export function renderListPage(data: ListPageData): string {
  const { filters, records, now } = data;
  const table = `<div class="table-wrap"><table>
<caption class="muted" style="text-align:left">${records.length} build${records.length === 1 ? "" : "s"}, newest first</caption>
<thead><tr><th scope="col">Status</th><th scope="col">Image</th><th scope="col">Submitted</th><th scope="col">Duration</th><th scope="col" class="wide">Digest</th><th scope="col" class="wide">Reason</th></tr></thead>
<tbody>
${records.map((r) => row(r, now)).join("\n") || '<tr><td colspan="6">no builds match</td></tr>'}
</tbody></table></div>`;
  const older = listHref(data.pagingFilters ?? filters, { cursor: data.cursor ?? "" });
  const paging = `<nav class="paging" aria-label="pages of builds">${data.cursor ? `<a rel="next" href="${escapeHtml(older)}">Older builds →</a>` : ""}<a href="${escapeHtml(listHref(filters))}">Newest</a></nav>`;
  const body = [
    filterForm(filters),
    data.error ? `<p class="error" role="alert">${escapeHtml(data.error)}</p>` : "",
    data.history && filters.repository ? repositoryPanel(filters.repository, data.history) : "",
    !data.error && !filters.repository ? `<h2>Outcomes in the last 24 hours</h2>${outcomeChart(records, now)}` : "",
    data.error ? "" : `<h2>Builds</h2>${table}${paging}`,
    `<p class="muted">Updated ${escapeHtml(now.toISOString())}; refreshes every 10 s.</p>`,
  ];
  return layout(body.filter(Boolean).join("\n"), {
    title: `${data.title} builds`,
    heading: data.title,
    refreshSeconds: 10,
    script:
      'document.querySelector("form.filters").addEventListener("submit",function(e){for(var el of e.target.elements){if(el.name&&!el.value)el.disabled=true;}});',
  });
}
