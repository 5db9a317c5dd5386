import type { QueueEntry, QueueView } from "../builds/queue-view.js";
import { formatAge } from "../util/format.js";
import { buildHref, escapeHtml, imageName, layout, statusPill } from "./layout.js";

const name = (entry: QueueEntry) =>
  `<a href="${buildHref(entry.id)}">${escapeHtml(entry.build ? imageName(entry.build) : entry.jobName)}</a>`;
const age = (entry: QueueEntry, now: Date) =>
  entry.build ? `${formatAge(entry.build.submittedAt, now)} ago` : '<span class="muted">no record</span>';

/** The queue: what runs against the cap, then what waits, in the order it will start. */
export function renderQueuePage(view: QueueView, now: Date, title: string): string {
  const cap =
    view.cap > 0 ? `${view.running.length} of ${view.cap} slots in use` : `${view.running.length} running (no cap)`;
  const running = view.running
    .map(
      (e) =>
        `<tr data-build-id="${escapeHtml(e.id)}"><td>${e.build ? statusPill(e.build.status) : ""}</td><td>${name(e)}</td><td>${age(e, now)}</td></tr>`,
    )
    .join("");
  const waiting = view.waiting
    .map(
      (e) =>
        `<tr data-build-id="${escapeHtml(e.id)}"><td class="position">${e.position}</td><td>${name(e)}${e.startsNext ? ' <span class="muted">(starts at the next run)</span>' : ""}</td><td>${age(e, now)}</td></tr>`,
    )
    .join("");
  const body = `<h2 id="running-h">Running <span class="muted" id="cap">${escapeHtml(cap)}</span></h2>
<div class="table-wrap"><table aria-labelledby="running-h" id="running"><thead><tr><th scope="col">Status</th><th scope="col">Image</th><th scope="col">Submitted</th></tr></thead>
<tbody>${running || '<tr><td colspan="3">nothing running</td></tr>'}</tbody></table></div>
<h2 id="waiting-h">Waiting <span class="muted">${view.waiting.length}, in release order (oldest upload first)</span></h2>
<div class="table-wrap"><table aria-labelledby="waiting-h" id="waiting"><thead><tr><th scope="col">Position</th><th scope="col">Image</th><th scope="col">Submitted</th></tr></thead>
<tbody>${waiting || '<tr><td colspan="3">nothing waiting</td></tr>'}</tbody></table></div>
<p class="muted">Read from the cluster's Jobs at ${escapeHtml(now.toISOString())}; refreshes every 5 s.</p>`;
  return layout(body, { title: `queue: ${title}`, heading: title, refreshSeconds: 5 });
}
