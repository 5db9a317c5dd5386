import { type BuildRecord, isTerminal } from "../build/record.js";
import type { BuildLog } from "../builds/log.js";
import { formatCost, formatDuration, provenanceFields } from "../util/format.js";
import { escapeHtml, imageName, layout, statusPill } from "./layout.js";

export interface BuildPageData {
  title: string;
  record: BuildRecord;
  log: BuildLog;
  /** The API can cancel (it has cluster access) and the build has not finished. */
  canCancel: boolean;
}

interface HistoryStep {
  what: string;
  at: string;
}

/**
 * A build's history from its record's times: a build only moves forward
 * (QUEUED → RUNNING → a final status), so each time marks one step.
 */
export function statusHistory(record: BuildRecord): HistoryStep[] {
  const steps: HistoryStep[] = [];
  if (record.uploadedAt) steps.push({ what: "uploaded", at: record.uploadedAt });
  steps.push({ what: record.status === "REJECTED" ? "received" : "QUEUED", at: record.submittedAt });
  if (record.startedAt) steps.push({ what: "RUNNING", at: record.startedAt });
  if (isTerminal(record.status) && record.finishedAt) steps.push({ what: record.status, at: record.finishedAt });
  return steps;
}

const since = (from: string, to: string) =>
  formatDuration(Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000)));

function historyTable(record: BuildRecord): string {
  const steps = statusHistory(record);
  const rows = steps.map((step, i) => {
    const previous = steps[i - 1];
    return `<tr><td>${escapeHtml(step.what)}</td><td><time datetime="${escapeHtml(step.at)}">${escapeHtml(step.at)}</time></td><td>${previous ? `+${since(previous.at, step.at)}` : ""}</td></tr>`;
  });
  return `<div class="table-wrap"><table class="history"><thead><tr><th scope="col">Step</th><th scope="col">At</th><th scope="col">After</th></tr></thead><tbody>${rows.join("")}</tbody></table></div>`;
}

function details(record: BuildRecord): string {
  const source = record.source;
  const fields: [string, string | undefined][] = [
    ["Build id", `<code>${escapeHtml(record.id)}</code>`],
    ["Status", statusPill(record.status)],
    ["Queue position", record.status === "QUEUED" && record.queuePosition ? String(record.queuePosition) : undefined],
    ["Reason", record.reason ? `<span class="reason">${escapeHtml(record.reason)}</span>` : undefined],
    ["Trigger", escapeHtml(record.trigger)],
    ["Attempts", String(record.attempts)],
    ["Duration", record.durationSeconds === undefined ? undefined : formatDuration(record.durationSeconds)],
    ["Destinations", record.destinations.map((d) => `<code>${escapeHtml(d)}</code>`).join("<br>") || undefined],
    ["Digest", record.digest ? `<code>${escapeHtml(record.digest)}</code>` : undefined],
    ["Cost", record.cost ? escapeHtml(formatCost(record.cost)) : undefined],
    [
      "Unchanged since",
      record.unchangedSince
        ? `<a href="/ui/builds/${escapeHtml(record.unchangedSince)}">${escapeHtml(record.unchangedSince)}</a>`
        : undefined,
    ],
    [
      "Source",
      `<code>s3://${escapeHtml(`${source.bucket}/${source.key}`)}</code>${source.versionId ? `<br>version ${escapeHtml(source.versionId)}` : ""}${source.etag ? `<br>etag ${escapeHtml(source.etag)}` : ""}${source.size !== undefined ? `<br>${source.size} bytes` : ""}`,
    ],
    ["Dockerfile", record.dockerfile ? escapeHtml(record.dockerfile) : undefined],
    ["Target", record.target ? escapeHtml(record.target) : undefined],
    [
      "Build args",
      record.buildArgs && Object.keys(record.buildArgs).length
        ? Object.entries(record.buildArgs)
            .map(([k, v]) => `<code>${escapeHtml(`${k}=${v}`)}</code>`)
            .join("<br>")
        : undefined,
    ],
    ["Job", record.jobName ? `<code>${escapeHtml(`${record.namespace}/${record.jobName}`)}</code>` : undefined],
    [
      "Log",
      record.logLocation
        ? `<code>${escapeHtml(record.logLocation)}</code>`
        : record.logNote
          ? escapeHtml(record.logNote)
          : undefined,
    ],
  ];
  for (const [name, value] of record.provenance ? provenanceFields(record.provenance) : []) {
    fields.push([escapeHtml(name.charAt(0).toUpperCase() + name.slice(1)), `<code>${escapeHtml(value)}</code>`]);
  }
  return `<dl class="record">${fields
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `<dt>${name}</dt><dd data-field="${name.toLowerCase().replace(/ /g, "-")}">${value}</dd>`)
    .join("")}</dl>`;
}

/** A value written into an inline script: JSON that cannot close the script element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

/** Follows a running build's log: polls GET /builds/{id}/log from the offset it has, reloads when the build ends. */
const followScript = (id: string, log: BuildLog) => `(function(){
var pre=document.getElementById("log"),state=document.getElementById("log-state"),offset=${log.offset},pod=${scriptJson(log.pod ?? "")};
function poll(){fetch("/builds/${id}/log?offset="+offset+"&pod="+encodeURIComponent(pod),{headers:{accept:"application/json"}}).then(function(r){if(!r.ok)throw r;return r.json();}).then(function(log){
if(log.complete){state.textContent="The build finished: "+log.status+".";setTimeout(function(){location.reload();},500);return;}
if(log.from<offset){pre.textContent="";}
if(log.text){var atEnd=pre.scrollTop+pre.clientHeight>=pre.scrollHeight-4;pre.textContent+=log.text;if(atEnd)pre.scrollTop=pre.scrollHeight;}
offset=log.offset;pod=log.pod||"";
state.textContent=log.note?log.note:"Following the log as it grows.";
setTimeout(poll,1500);}).catch(function(){state.textContent="Could not read the log; retrying.";setTimeout(poll,3000);});}
setTimeout(poll,1500);})();`;

const cancelScript = (
  id: string,
) => `document.getElementById("cancel").addEventListener("submit",function(e){e.preventDefault();
if(!confirm("Cancel this build?"))return;var out=document.getElementById("cancel-result");out.textContent="Cancelling…";
fetch("/builds/${id}/cancel",{method:"POST"}).then(function(r){return r.json().then(function(b){return {ok:r.ok,b:b};});}).then(function(x){
out.textContent=x.ok?"Cancelled.":(x.b.error||"The cancel failed.");setTimeout(function(){location.reload();},800);}).catch(function(){out.textContent="The cancel failed; try again.";});});`;

/** One build: its record, status history, log (followed while it runs) and, while it can be, a cancel button. */
export function renderBuildPage(data: BuildPageData): string {
  const { record, log } = data;
  const following = !log.complete;
  const body = `<p><a href="/">← All builds</a></p>
<h2>${statusPill(record.status)} ${escapeHtml(imageName(record))}</h2>
${data.canCancel ? `<form id="cancel"><button class="danger" type="submit">Cancel build</button> <span id="cancel-result" role="status"></span></form>` : ""}
<section aria-labelledby="record-h"><h2 id="record-h">Record</h2>${details(record)}</section>
<section aria-labelledby="history-h"><h2 id="history-h">Status history</h2>${historyTable(record)}</section>
<section aria-labelledby="log-h"><h2 id="log-h">Log <span class="muted">(${log.source === "archive" ? "archived" : log.source === "live" ? "live from the builder pod" : "none"})</span></h2>
<p id="log-state" class="muted" role="status">${escapeHtml(log.note ?? (following ? "Following the log as it grows." : ""))}</p>
<pre id="log" class="log" tabindex="0" aria-label="build log">${escapeHtml(log.text)}</pre></section>`;
  const scripts = [following ? followScript(record.id, log) : "", data.canCancel ? cancelScript(record.id) : ""];
  return layout(body, {
    title: `${imageName(record)} ${record.status}: ${data.title}`,
    heading: data.title,
    script: scripts.filter(Boolean).join("\n"),
  });
}
