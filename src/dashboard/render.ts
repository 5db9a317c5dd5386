import type { BuildRecord, BuildStatus } from "../build/record.js";
import { formatAge, formatDuration, shortDigest } from "../util/format.js";

const COLOURS: Record<BuildStatus, string> = {
  QUEUED: "#6b7280",
  RUNNING: "#0891b2",
  SUCCEEDED: "#16a34a",
  FAILED: "#dc2626",
  REJECTED: "#d97706",
  CANCELLED: "#9333ea",
};
const CHARTED: BuildStatus[] = ["SUCCEEDED", "FAILED", "REJECTED", "CANCELLED"];

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

/** Finished builds of the last 24 hours, per hour and outcome, as stacked SVG bars. */
export function outcomeChart(records: BuildRecord[], now: Date): string {
  const hours = 24;
  const buckets = Array.from({ length: hours }, () => new Map<BuildStatus, number>());
  for (const record of records) {
    if (!CHARTED.includes(record.status)) continue;
    const at = new Date(record.finishedAt ?? record.submittedAt).getTime();
    const hoursAgo = Math.floor((now.getTime() - at) / 3_600_000);
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
      return `<rect x="${i * width + 2}" y="${y.toFixed(1)}" width="${width - 4}" height="${h.toFixed(1)}" fill="${COLOURS[status]}"><title>${count} ${status.toLowerCase()}, ${hours - 1 - i}h ago</title></rect>`;
    });
  });
  return `<svg class="chart" role="img" aria-label="outcomes of the last 24 hours" viewBox="0 0 ${hours * width} ${height}" width="${hours * width}" height="${height}">${bars.join("")}<line x1="0" y1="${height}" x2="${hours * width}" y2="${height}" stroke="#9ca3af"/></svg>`;
}

/**
 * The status page: counts per status, the last day's outcomes, and recent
 * builds with coloured statuses and durations. It refreshes itself. One
 * renderer for `dropbuild dashboard` and the local runtime.
 */
export function renderDashboard(
  records: BuildRecord[],
  now: Date,
  options: { title?: string; refreshSeconds?: number } = {},
): string {
  const title = options.title ?? "dropbuild";
  const counts = new Map<BuildStatus, number>();
  for (const r of records) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const summary = (Object.keys(COLOURS) as BuildStatus[])
    .map((s) => `<span class="pill" style="background:${COLOURS[s]}">${s} ${counts.get(s) ?? 0}</span>`)
    .join(" ");
  const rows = records
    .map(
      (r) => `<tr data-build-id="${escapeHtml(r.id)}">
  <td><span class="status" style="color:${COLOURS[r.status]}">${r.status}</span></td>
  <td>${escapeHtml(`${r.repository}:${r.tag}`)}</td>
  <td title="${escapeHtml(r.submittedAt)}">${formatAge(r.submittedAt, now)} ago</td>
  <td>${formatDuration(r.durationSeconds)}</td>
  <td><code>${escapeHtml(shortDigest(r.digest))}</code></td>
  <td class="reason">${escapeHtml(r.reason ?? "")}</td>
  <td><code>${escapeHtml(r.id)}</code></td>
</tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="${options.refreshSeconds ?? 5}">
<title>${escapeHtml(title)} builds</title>
<style>
body{font:14px system-ui,sans-serif;margin:2rem;color:#111827}
h1{font-size:1.3rem}
.pill{color:#fff;border-radius:999px;padding:2px 10px;font-size:12px;margin-right:4px}
table{border-collapse:collapse;width:100%;margin-top:1rem}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e5e7eb;vertical-align:top}
.status{font-weight:600}
.reason{max-width:32rem;color:#6b7280;font-size:12px}
.chart{margin-top:1rem;display:block}
footer{margin-top:1rem;color:#6b7280;font-size:12px}
</style>
</head>
<body>
<h1>${escapeHtml(title)} builds</h1>
<div class="summary">${summary}</div>
${outcomeChart(records, now)}
<table>
<thead><tr><th>Status</th><th>Image</th><th>Submitted</th><th>Duration</th><th>Digest</th><th>Reason</th><th>Build id</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="7">no builds yet</td></tr>'}
</tbody>
</table>
<footer>${records.length} most recent builds · updated ${escapeHtml(now.toISOString())} · refreshes every ${options.refreshSeconds ?? 5}s</footer>
</body>
</html>
`;
}
