import type { BuildRecord, BuildStatus } from "../build/record.js";

/** One colour per status, shared by the pills, the tables and the charts. */
export const STATUS_COLOURS: Record<BuildStatus, string> = {
  QUEUED: "#4b5563",
  RUNNING: "#0e7490",
  SUCCEEDED: "#15803d",
  FAILED: "#b91c1c",
  REJECTED: "#b45309",
  CANCELLED: "#7e22ce",
  SKIPPED: "#1d4ed8",
};

export const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

export const statusPill = (status: BuildStatus) =>
  `<span class="pill" style="background:${STATUS_COLOURS[status]}">${status}</span>`;

/** What a build is called on the pages: repository:tag, or the uploaded key for a rejected upload. */
export const imageName = (record: BuildRecord) =>
  record.status === "REJECTED" ? record.source.key : `${record.repository}:${record.tag}`;

export const buildHref = (id: string) => `/ui/builds/${encodeURIComponent(id)}`;

const STYLE = `
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#111827;background:#fff}
a{color:#1d4ed8}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid #f59e0b;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:2}
header{display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;align-items:baseline;padding:.75rem 1rem;border-bottom:1px solid #e5e7eb}
header h1{font-size:1.1rem;margin:0}
nav a{margin-right:1rem}
main{padding:1rem;max-width:72rem}
h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
.pill{color:#fff;border-radius:999px;padding:1px 9px;font-size:12px;font-weight:600;white-space:nowrap}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top}
.muted{color:#4b5563;font-size:13px}
.error{background:#fef2f2;border:1px solid #fecaca;color:#991b1b;padding:.5rem .75rem;border-radius:6px}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
form.filters label{display:flex;flex-direction:column;font-size:13px}
input,select,button{font:inherit;padding:4px 8px;min-height:2.25rem}
button{cursor:pointer}
.danger{background:#b91c1c;color:#fff;border:0;border-radius:6px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 1rem;margin:0}
dt{color:#4b5563}dd{margin:0;overflow-wrap:anywhere}
pre.log{background:#111827;color:#e5e7eb;padding:.75rem;border-radius:6px;overflow:auto;max-height:70vh;font-size:13px;white-space:pre-wrap}
svg{max-width:100%;height:auto}
td.reason{max-width:28rem;display:-webkit-box;-webkit-line-clamp:3;-webkit-box-orient:vertical;overflow:hidden}
.paging{display:flex;gap:1rem;margin-top:.75rem}
@media (max-width:640px){.wide{display:none}main{padding:.5rem}}
`;

export interface PageOptions {
  title: string;
  heading: string;
  /** Reload the page this often unless the reader is typing in a form (seconds). */
  refreshSeconds?: number;
  /** A script of the page's own, run after the body. */
  script?: string;
}

const refreshScript = (seconds: number) =>
  `setTimeout(function tick(){var a=document.activeElement;if(a&&a.closest&&a.closest("form")){setTimeout(tick,${seconds * 1000});return;}location.reload();},${seconds * 1000});`;

/** The frame of every page: one style sheet, a skip link, the navigation, and no framework. */
export function layout(body: string, options: PageOptions): string {
  const scripts = [options.refreshSeconds ? refreshScript(options.refreshSeconds) : "", options.script ?? ""]
    .filter(Boolean)
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><h1>${escapeHtml(options.heading)}</h1>
<nav aria-label="pages"><a href="/">Builds</a><a href="/ui/queue">Queue</a><a href="/openapi.json">API</a></nav></header>
<main id="main">
${body}
</main>
${scripts ? `<script>${scripts}</script>` : ""}
</body>
</html>
`;
}

/** A page that says what went wrong, with the status the API answers. */
export function errorPage(message: string, heading: string): string {
  return layout(`<p class="error" role="alert">${escapeHtml(message)}</p><p><a href="/">All builds</a></p>`, {
    title: `${heading}: error`,
    heading,
  });
}
