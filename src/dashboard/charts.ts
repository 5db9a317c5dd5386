import { type BuildRecord, type BuildStatus, isTerminal } from "../build/record.js";
import { formatDuration } from "../util/format.js";
import { escapeHtml, STATUS_COLOURS } from "./layout.js";

const CHARTED: BuildStatus[] = ["SUCCEEDED", "FAILED", "REJECTED", "CANCELLED", "SKIPPED"];
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

const svg = (label: string, width: number, height: number, content: string) =>
  `<svg class="chart" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${content}<line x1="0" y1="${height}" x2="${width}" y2="${height}" stroke="#9ca3af"/></svg>`;

/** Finished builds of the last 24 hours, per hour and outcome, as stacked bars. */
export function outcomeChart(records: BuildRecord[], now: Date): string {
  const hours = 24;
  const buckets = Array.from({ length: hours }, () => new Map<BuildStatus, number>());
  for (const record of records) {
    if (!CHARTED.includes(record.status)) continue;
    const hoursAgo = Math.floor((now.getTime() - Date.parse(record.finishedAt ?? record.submittedAt)) / HOUR_MS);
    const bucket = buckets[hours - 1 - hoursAgo];
    if (hoursAgo < 0 || hoursAgo >= hours || !bucket) continue;
    bucket.set(record.status, (bucket.get(record.status) ?? 0) + 1);
  }
  const max = Math.max(1, ...buckets.map((b) => [...b.values()].reduce((s, n) => s + n, 0)));
  const width = 20;
  const height = 80;
  const bars = buckets.flatMap((bucket, i) => {
    let y = height;
    return CHARTED.filter((s) => bucket.get(s)).map((status) => {
      const count = bucket.get(status) ?? 0;
      const h = (count / max) * (height - 4);
      y -= h;
      return `<rect x="${i * width + 2}" y="${y.toFixed(1)}" width="${width - 4}" height="${h.toFixed(1)}" fill="${STATUS_COLOURS[status]}"><title>${count} ${status.toLowerCase()}, ${hours - 1 - i}h ago</title></rect>`;
    });
  });
  return svg("outcomes of the last 24 hours, per hour", hours * width, height, bars.join(""));
}

export interface DayStats {
  day: string;
  succeeded: number;
  finished: number;
}

/** Per UTC day of the range: finished builds and how many succeeded (rejected uploads are not builds that ran). */
export function successByDay(records: BuildRecord[], from: Date, to: Date): DayStats[] {
  const days: DayStats[] = [];
  for (let t = Math.floor(from.getTime() / DAY_MS) * DAY_MS; t <= to.getTime(); t += DAY_MS)
    days.push({ day: new Date(t).toISOString().slice(0, 10), succeeded: 0, finished: 0 });
  const byDay = new Map(days.map((d) => [d.day, d]));
  for (const record of records) {
    if (!isTerminal(record.status) || record.status === "REJECTED") continue;
    const day = byDay.get((record.finishedAt ?? record.submittedAt).slice(0, 10));
    if (!day) continue;
    day.finished += 1;
    if (record.status === "SUCCEEDED") day.succeeded += 1;
  }
  return days;
}

/** Success rate per day as bars (full height = 100%); a day without builds has none. */
export function successRateChart(days: DayStats[]): string {
  const width = Math.max(8, Math.min(28, Math.floor(672 / Math.max(1, days.length))));
  const height = 90;
  const bars = days
    .filter((d) => d.finished > 0)
    .map((d) => {
      const i = days.indexOf(d);
      const rate = d.succeeded / d.finished;
      const h = Math.max(2, rate * (height - 4));
      const colour = rate >= 0.9 ? STATUS_COLOURS.SUCCEEDED : rate >= 0.5 ? "#ca8a04" : STATUS_COLOURS.FAILED;
      return `<rect x="${i * width + 1}" y="${(height - h).toFixed(1)}" width="${width - 2}" height="${h.toFixed(1)}" fill="${colour}"><title>${d.day}: ${d.succeeded} of ${d.finished} succeeded (${Math.round(rate * 100)}%)</title></rect>`;
    });
  return svg("success rate per day", days.length * width, height, bars.join(""));
}

/** Each finished build's duration over the range, a dot coloured by outcome, on a shared time axis. */
export function durationChart(records: BuildRecord[], from: Date, to: Date): string {
  const width = 672;
  const height = 120;
  const finished = records.filter((r) => r.durationSeconds !== undefined && r.finishedAt && r.status !== "REJECTED");
  const max = Math.max(1, ...finished.map((r) => r.durationSeconds ?? 0));
  const span = Math.max(1, to.getTime() - from.getTime());
  const dots = finished.map((r) => {
    // A build that finished after the range's end (it started inside) sits at the edge.
    const x = Math.min(1, Math.max(0, (Date.parse(r.finishedAt ?? "") - from.getTime()) / span)) * (width - 8) + 4;
    const y = height - 4 - ((r.durationSeconds ?? 0) / max) * (height - 12);
    return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="4" fill="${STATUS_COLOURS[r.status]}"><title>${escapeHtml(r.tag)} ${r.status.toLowerCase()} in ${formatDuration(r.durationSeconds)}, ${r.finishedAt}</title></circle>`;
  });
  const labels = [
    `<text x="2" y="10" font-size="10" fill="#4b5563">${formatDuration(Math.round(max))}</text>`,
    `<text x="${width - 2}" y="10" font-size="10" fill="#4b5563" text-anchor="end">${to.toISOString().slice(0, 10)}</text>`,
  ];
  return svg("build duration over time", width, height, labels.join("") + dots.join(""));
}

/** The middle value, for a one-line summary beside the charts. */
export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
