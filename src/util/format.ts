import type { BuildCost } from "../build/cost.js";
import type { Provenance } from "../build/provenance.js";
import type { BuildRecord, BuildStatus } from "../build/record.js";

const COLOURS: Record<BuildStatus, string> = {
  QUEUED: "\x1b[90m",
  RUNNING: "\x1b[36m",
  SUCCEEDED: "\x1b[32m",
  FAILED: "\x1b[31m",
  REJECTED: "\x1b[33m",
  CANCELLED: "\x1b[35m",
  SKIPPED: "\x1b[34m",
};
const RESET = "\x1b[0m";

export function colourStatus(status: BuildStatus, colour: boolean): string {
  return colour ? `${COLOURS[status]}${status}${RESET}` : status;
}

/** 42s, 3m, 5h, 2d */
export function formatAge(from: string, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - new Date(from).getTime()) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined) return "-";
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s`;
}

export const shortDigest = (digest: string | undefined) => (digest ? digest.replace(/^sha256:/, "").slice(0, 12) : "-");

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
const visible = (text: string) => text.replace(ANSI, "").length;

/** The `builds list` table: status, repository:tag, age, duration, short digest, id. */
export function formatTable(records: BuildRecord[], now: Date, colour: boolean): string {
  if (records.length === 0) return "no builds match";
  const header = ["STATUS", "IMAGE", "AGE", "DURATION", "DIGEST", "ID"];
  const rows = records.map((r) => [
    colourStatus(r.status, colour),
    // A rejected upload may have no valid name at all: what was uploaded says more.
    r.status === "REJECTED" ? r.source.key : `${r.repository}:${r.tag}`,
    formatAge(r.submittedAt, now),
    formatDuration(r.durationSeconds),
    shortDigest(r.digest),
    r.id,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => visible(row[i] ?? ""))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell + " ".repeat((widths[i] ?? 0) - visible(cell)))
      .join("  ")
      .trimEnd();
  const indent = " ".repeat((widths[0] ?? 0) + 2);
  // Each rejected build's reason on the line below it, under its key.
  const lines = rows.flatMap((row, i) => {
    const record = records[i];
    return record?.status === "REJECTED" && record.reason ? [line(row), `${indent}${record.reason}`] : [line(row)];
  });
  return [line(header), ...lines].join("\n");
}

/** `builds show`: every field a person looks for, one per line. */
export function formatRecord(r: BuildRecord, now: Date, colour: boolean): string {
  const lines: [string, string | undefined][] = [
    ["id", r.id],
    ["status", colourStatus(r.status, colour)],
    ["image", `${r.repository}:${r.tag}`],
    ["destinations", r.destinations.join(", ") || undefined],
    ["trigger", r.trigger],
    [
      "source",
      `s3://${r.source.bucket}/${r.source.key}${r.source.versionId ? ` (version ${r.source.versionId})` : ""}`,
    ],
    ["submitted", `${r.submittedAt} (${formatAge(r.submittedAt, now)} ago)`],
    ["started", r.startedAt],
    ["finished", r.finishedAt],
    ["duration", r.durationSeconds === undefined ? undefined : formatDuration(r.durationSeconds)],
    ["attempts", String(r.attempts)],
    ["digest", r.digest],
    ["queue position", r.status === "QUEUED" && r.queuePosition ? String(r.queuePosition) : undefined],
    ["reason", r.reason],
    ["logs", r.logLocation ?? r.logNote],
    ["job", r.jobName ? `${r.namespace}/${r.jobName}` : undefined],
    ["cost", r.cost ? formatCost(r.cost) : undefined],
    ["unchanged since", r.unchangedSince],
    ...(r.provenance ? provenanceFields(r.provenance) : []),
  ];
  return lines
    .filter(([, value]) => value !== undefined && value !== "")
    .map(([name, value]) => `${`${name}:`.padEnd(16)}${value}`)
    .join("\n");
}

/** A build's cost on one line: its resource-seconds and the estimate. */
export const formatCost = (cost: BuildCost) =>
  `${cost.vcpuSeconds} vCPU-s, ${cost.gibSeconds} GiB-s, about ${cost.estimate.toFixed(4)} ${cost.currency}`;

/**
 * A build's provenance as label and text pairs, for `builds show` and the
 * build page alike: the hashes, each stage's base (by digest when it was
 * resolved) and each destination's digest.
 */
export function provenanceFields(p: Provenance): [string, string][] {
  const fields: [string, string][] = [
    ["context sha256", p.contextSha256],
    ["Dockerfile sha256", p.dockerfileSha256],
  ];
  for (const stage of p.stages) {
    const label = `stage ${stage.stage}${stage.name ? ` (${stage.name})` : ""}`;
    if (stage.kind === "stage") fields.push([label, `from stage ${stage.reference}`]);
    else if (stage.kind === "scratch") fields.push([label, "scratch"]);
    else {
      const via = stage.pulledFrom && !stage.pulledFrom.startsWith(stage.image ?? "") ? ` via ${stage.pulledFrom}` : "";
      fields.push([label, `${stage.image ?? stage.reference}${stage.digest ? `@${stage.digest}` : ""}${via}`]);
    }
  }
  for (const output of p.outputs ?? []) {
    fields.push([
      "pushed",
      `${output.destination}${output.digest ? `@${output.digest}` : ` (${output.note ?? "no digest"})`}`,
    ]);
  }
  return fields;
}
