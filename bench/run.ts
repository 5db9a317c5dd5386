/**
 * dropbuild's benchmarks, on a bed of their own. They print their figures and
 * write bench/results.md; they are measurements, not tests.
 *
 *   npm run bench                     everything (reconcile at 1,000 and 10,000 Jobs)
 *   npm run bench -- coldstart throughput latency release reconcile e2e builds inspection
 *   BENCH_RECONCILE_SIZES=1000 npm run bench -- reconcile
 *   BENCH_E2E_UPLOADS=300 npm run bench -- e2e
 *   BENCH_BUILDS=3 npm run bench -- builds
 *   BENCH_CACHE_BUILDS=3 BENCH_CACHE_RATES=0,1000,200 npm run bench -- cache   (Mbit/s on the bed's bridge; 0 = no limit)
 *   BENCH_RELEASE_UPLOADS=24 npm run bench -- release   (about 9 minutes: once a minute is the schedule)
 *   BENCH_INSPECTION_SIZES=1,6,25 npm run bench -- inspection   (compressed MB; no bed)
 *
 * Only "builds" and "cache" use the bed's real node (kubelet, containerd,
 * kaniko; root), on a bed of their own, started once no other bed holds the
 * host's one real node. The other figures run on kwok alone.
 */

import { readFile, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { stderrProgress } from "../bed/build/progress.js";
import { repoRoot } from "../bed/paths.js";
import { bedDown, bedUp } from "../bed/up.js";
import { armMedians, baseCacheFigures, type CacheFigures } from "./base-cache.js";
import { type BuildsFigures, realBuilds } from "./builds.js";
import { coldStart } from "./cold-start.js";
import { endToEnd } from "./end-to-end.js";
import { inspectionRows } from "./inspection.js";
import { bedWithRealNode } from "./real-bed.js";
import { reconcileScale } from "./reconcile-scale.js";
import { type LatencyFigures, releaseLatency } from "./release-latency.js";
import { median } from "./stats.js";
import { latency, throughput } from "./throughput.js";

const wanted = new Set(
  process.argv.slice(2).length
    ? process.argv.slice(2)
    : ["coldstart", "throughput", "latency", "release", "reconcile", "e2e", "builds", "cache", "inspection"],
);
const sizes = (process.env.BENCH_RECONCILE_SIZES ?? "1000,10000").split(",").map(Number);
const runAt = new Date().toISOString().slice(0, 16).replace("T", " ");
/** The figure a table row is about: its first cell. */
const figureOf = (line: string) => /^\| ([^|]+) \|/.exec(line)?.[1];
/** This run's table rows, by figure, each ending in the run's time. */
const rows = new Map<string, string>();
const say = (line: string) => {
  process.stdout.write(`${line}\n`);
  const figure = figureOf(line);
  if (figure) rows.set(figure, `${line} ${runAt} |`);
};
const f = (n: number, digits = 1) => n.toFixed(digits);
const verdict = (ok: boolean) => (ok ? "met" : "**missed**");

const machine = `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${f(totalmem() / 1024 ** 3, 0)} GB · Node.js ${process.version}`;
say(`# dropbuild benchmarks\n\n${machine}\n`);

if (wanted.has("coldstart")) {
  for (const c of await coldStart(join(repoRoot, "dist"))) {
    say(
      `| cold start: ${c.name} bundle | ${f(c.bytes / 1024 / 1024, 2)} MB, import ${f(c.importMs, 0)} ms | ≤ 1.5 MB, ≤ 150 ms | ${verdict(c.bytes <= 1.5 * 1024 * 1024 && c.importMs <= 150)} |`,
    );
  }
}

if (wanted.has("inspection")) {
  const inspectionSizes = (process.env.BENCH_INSPECTION_SIZES ?? "1,6,25").split(",").map(Number);
  for (const row of await inspectionRows(inspectionSizes, (line) => process.stderr.write(`${line}\n`))) say(row);
}

// The end-to-end figure runs its own local runtime (and bed), the builds figure its own bed with the
// real node; the others share this one, kwok only.
const needsBed = ["throughput", "latency", "release", "reconcile"].some((w) => wanted.has(w));
const stateDir = join(repoRoot, ".bed", "bench");
const bed = needsBed ? await bedUp(stateDir, stderrProgress, { realNode: false }) : undefined;
try {
  if (bed && wanted.has("throughput")) {
    const t = await throughput(bed);
    say(
      `| trigger throughput, ${t.count} uploads at concurrency ${t.concurrency}: floor (raw creates, 1 HTTP/2 connection, the functions' token + RBAC) | ${f(t.floorPerSecond)} Jobs/s | | |`,
    );
    say(
      `| trigger throughput: the AWS emulator alone (moto: S3 GET + conditional put per upload) | ${f(t.emulatorPerSecond)} uploads/s | | |`,
    );
    say(
      `| trigger throughput: kubectl create -f per build (the peer, the functions' token + RBAC) | ${f(t.kubectlPerSecond)} Jobs/s | | |`,
    );
    const cpu = (parts: [string, number][]) => {
      const total = parts.reduce((sum, [, ms]) => sum + ms, 0);
      const ceiling = (cpus().length * 1000) / total;
      return `${f(total, 2)} ms CPU per Job (${parts.map(([name, ms]) => `${name} ${f(ms, 2)}`).join(", ")}); ${cpus().length} cores allow ≤ ${f(ceiling, 0)}/s`;
    };
    say(`| trigger throughput: CPU per Job, floor | ${cpu(t.floorCpu)} | | |`);
    say(`| trigger throughput: CPU per Job, dropbuild | ${cpu(t.dropbuildCpu)} | | |`);
    const apiServer = (parts: [string, number][]) =>
      parts.find(([name]) => name === "kube-apiserver")?.[1] ?? Number.NaN;
    say(`| trigger throughput: CPU per Job, floor paced to dropbuild's rate | ${cpu(t.pacedFloorCpu)} | | |`);
    const apiRatio = apiServer(t.dropbuildCpu) / apiServer(t.pacedFloorCpu);
    const ratio = t.dropbuildPerSecond / t.kubectlPerSecond;
    say(
      `| trigger throughput: dropbuild (validate + record + Job) | ${f(t.dropbuildPerSecond)} Jobs/s = ${f(ratio)}× kubectl, ${f((100 * t.dropbuildPerSecond) / t.floorPerSecond, 0)}% of floor; API server CPU per Job ${f(apiRatio, 2)}× the floor's at the same rate | ≥ 5× kubectl, API server CPU ≤ 1.1× floor | ${verdict(ratio >= 5 && apiRatio <= 1.1)} |`,
    );
    say(
      `| trigger CPU per upload (the trigger's own process, at concurrency ${t.concurrency}) | ${f(t.triggerCpuMs, 2)} ms | ≤ 3 ms | ${verdict(t.triggerCpuMs <= 3)} |`,
    );
  }
  if (bed && wanted.has("latency")) {
    const l = await latency(bed);
    say(
      `| trigger warm latency over ${l.events} events (invoke → record + Job) | p50 ${f(l.p50Ms)} ms, p99 ${f(l.p99Ms)} ms | p50 ≤ 30 ms, p99 ≤ 150 ms | ${verdict(l.p50Ms <= 30 && l.p99Ms <= 150)} |`,
    );
  }
  if (bed && wanted.has("release")) {
    const uploads = Number(process.env.BENCH_RELEASE_UPLOADS ?? 24);
    const following = await releaseLatency(bed, {
      name: "following the Jobs 55 s",
      watchSeconds: 55,
      uploads,
      gapSeconds: [4, 12],
    });
    const before = await releaseLatency(bed, {
      name: "a pass alone (before)",
      watchSeconds: 0,
      uploads: Math.max(4, Math.round(uploads / 3)),
      gapSeconds: [15, 35],
    });
    sayRelease(following, true);
    sayRelease(before, false);
  }
  if (bed && wanted.has("reconcile")) {
    const results = [];
    for (const size of sizes) {
      const r = await reconcileScale(bed, size);
      results.push(r);
      const listGoal = Math.ceil(size / 500) + 2;
      say(
        `| reconcile ${size} finished Jobs | ${f(r.wallMs / 1000)} s, ${r.listCalls} list calls, ${r.writes} table writes, peak RSS ${f(r.maxRssMb, 0)} MB; re-run: ${r.secondRunWrites} writes | ≤ ${listGoal} list calls, re-run 0 writes | ${verdict(r.listCalls <= listGoal && r.secondRunWrites === 0)} |`,
      );
    }
    const [small, large] = [results.find((r) => r.jobs === 1000), results.find((r) => r.jobs === 10000)];
    if (small && large)
      say(
        `| reconcile 10k/1k time ratio | ${f(large.wallMs / small.wallMs, 2)} | ≤ 11 | ${verdict(large.wallMs / small.wallMs <= 11)} |`,
      );
  }
  if (wanted.has("e2e")) {
    const e = await endToEnd(Number(process.env.BENCH_E2E_UPLOADS ?? 1000), 50);
    say(
      `| end to end: ${e.uploads} uploads, cap ${e.cap}, local runtime | all recorded in ${f(e.seconds)} s, FIFO ${e.fifo ? "held" : "**broken**"}, runtime peak RSS ${f(e.peakRssMb, 0)} MB | FIFO, ≤ 256 MB | ${verdict(e.fifo && e.peakRssMb <= 256)} |`,
    );
  }
} finally {
  if (bed) await bedDown(stateDir);
}
if (wanted.has("builds")) await buildsFigure(Number(process.env.BENCH_BUILDS ?? 20));
if (wanted.has("cache")) await cacheFigure();
await writeResults(join(repoRoot, "bench", "results.md"));

/** Upload → release and finish → outcome, with the reconcile function invoked once a minute. */
function sayRelease(l: LatencyFigures, withGoals: boolean): void {
  const sec = (ms: number) => `${f(ms / 1000, 2)} s`;
  const of = (x: LatencyFigures["release"]) => `p50 ${sec(x.p50)}, p95 ${sec(x.p95)}, max ${sec(x.max)}`;
  const runs = `${l.builds} builds; ${l.invocations} invocations, ${l.throttled} throttled`;
  say(
    `| release: upload → Job released, cap 3 with a slot free, reconcile once a minute, ${l.mode.name} | ${of(l.release)} (${runs}) | ${withGoals ? "p50 ≤ 5 s, p95 ≤ 10 s" : ""} | ${withGoals ? verdict(l.release.p50 <= 5000 && l.release.p95 <= 10_000) : ""} |`,
  );
  say(
    `| outcome: Job Complete → outcome event published, reconcile once a minute, ${l.mode.name} | ${of(l.outcome)} | ${withGoals ? "p50 ≤ 5 s" : ""} | ${withGoals ? verdict(l.outcome.p50 <= 5000) : ""} |`,
  );
}

/** Real builds on a bed with the real node: dropbuild's latency, and its overhead over the seed's bare kaniko Job. */
async function buildsFigure(builds: number): Promise<void> {
  const buildsDir = join(repoRoot, ".bed", "bench-builds");
  const realBed = await bedWithRealNode(buildsDir, stderrProgress);
  try {
    sayBuilds(await realBuilds(realBed, builds, stderrProgress));
  } finally {
    await bedDown(buildsDir);
  }
}

/** Cold vs cached real builds on a bed with the real node, at each bandwidth limit on its bridge. */
async function cacheFigure(): Promise<void> {
  const dir = join(repoRoot, ".bed", "bench-cache");
  const builds = Number(process.env.BENCH_CACHE_BUILDS ?? 3);
  const ratesMbit = (process.env.BENCH_CACHE_RATES ?? "0,1000,200").split(",").map(Number);
  const realBed = await bedWithRealNode(dir, stderrProgress);
  try {
    sayCache(await baseCacheFigures(realBed, { builds, ratesMbit }, stderrProgress));
  } finally {
    await bedDown(dir);
  }
}

function sayCache(c: CacheFigures): void {
  const s = (ms: number) => `${f(ms / 1000, 1)} s`;
  const base = `base ${f(c.base.megabytes, 0)} MB in ${c.base.layers} layers (${c.base.files} files, incompressible)`;
  for (const row of c.rows) {
    const [off, cold, cached] = [armMedians(row, "off"), armMedians(row, "cold"), armMedians(row, "cached")];
    const ratio = cold.completeMs / cached.completeMs;
    const limit = row.rateMbit
      ? `bridge limited to ${row.rateMbit} Mbit/s (stand-in for a remote registry)`
      : "bridge unlimited (registry on this machine)";
    say(
      `| base-image cache, ${limit}: cold vs cached, same context, upload → Job Complete | cached p50 ${s(cached.completeMs)} vs cold ${s(cold.completeMs)} = ${f(ratio, 2)}× faster; cache off ${s(off.completeMs)}; kaniko ran ${s(cached.kanikoMs)} cached, ${s(cold.kanikoMs)} cold, ${s(off.kanikoMs)} off (whole seconds); warmer ran ${s(median(row.warmerMs))}, off the build's path; ${base}; ${c.builds} builds per arm | cached ≥ 2× faster | ${verdict(ratio >= 2)} |`,
    );
  }
  process.stderr.write(`cache figure: ${f(c.seconds, 0)} s\n`);
}

function sayBuilds(b: BuildsFigures): void {
  const s = (ms: number) => `${f(ms / 1000, 2)} s`;
  const overhead = b.dropbuildCompleteP50 - b.seedCompleteP50;
  const runs = `${b.builds} builds each after 1 warm-up, one at a time`;
  say(
    `| real build: upload → kaniko container running | p50 ${s(b.toKanikoApi.p50)}, p95 ${s(b.toKanikoApi.p95)} (startedAt, whole seconds); seen on a watch: p50 ${s(b.toKanikoSeen.p50)}, p95 ${s(b.toKanikoSeen.p95)}; ${b.builds} builds after 1 warm-up | | |`,
  );
  say(
    `| real build: the seed's bare kaniko Job, create → Job Complete | p50 ${s(b.seedCompleteP50)} (from lastTransitionTime: ${s(b.seedCompleteApiP50)}); ${runs} | | |`,
  );
  say(
    `| real build: dropbuild, upload → Job Complete / → record SUCCEEDED | p50 ${s(b.dropbuildCompleteP50)} (from lastTransitionTime: ${s(b.dropbuildCompleteApiP50)}) / p50 ${s(b.dropbuildRecordedP50)} (reconcile every ${b.reconcileEveryMs / 1000} s) | | |`,
  );
  say(
    `| real build: dropbuild's overhead over the seed (p50 − p50, to Job Complete) | ${s(overhead)} (${s(b.dropbuildCompleteP50)} − ${s(b.seedCompleteP50)}); means: ${s(b.dropbuildCompleteMean - b.seedCompleteMean)} (${s(b.dropbuildCompleteMean)} − ${s(b.seedCompleteMean)}); RUN pauses 0–1 s alike for both | ≤ 1.5 s p50 | ${verdict(overhead <= 1500)} |`,
  );
  const segments = b.segments.map((g) => `${g.name} ${s(g.dropbuildMs)} vs ${s(g.seedMs)}`).join("; ");
  const timeline = b.podTimeline
    .map((g) => `${g.name} ${s(g.dropbuildMs)}${Number.isNaN(g.seedMs) ? "" : ` vs ${s(g.seedMs)}`}`)
    .join("; ");
  say(
    `| real build: overhead breakdown, medians dropbuild vs seed (watch) | ${segments}; image pulls warm (warm-up builds discarded) | | |`,
  );
  say(`| real build: pod timeline, means dropbuild vs seed (API container times) | ${timeline} | | |`);
  process.stderr.write(
    `builds figure: ${f(b.seconds, 0)} s; watch restarts ${b.watchRestarts}; kaniko only seen terminated ${b.kanikoOnlyTerminated}\n`,
  );
}

/**
 * Merge this run's rows into the results file: a figure measured now
 * replaces its earlier row, the others keep theirs (each row says when it
 * was measured), so running one figure does not erase the rest.
 */
async function writeResults(path: string): Promise<void> {
  const earlier = await readFile(path, "utf8").catch(() => "");
  const merged = new Map<string, string>();
  for (const line of earlier.split("\n")) {
    const figure = figureOf(line);
    if (figure && figure !== "figure" && !line.startsWith("|---") && line.split("|").length === 7)
      merged.set(figure, line);
  }
  for (const [figure, line] of rows) merged.set(figure, line);
  const notes = earlier.includes("\n## Notes") ? earlier.slice(earlier.indexOf("\n## Notes")) : "";
  const table = ["| figure | result | goal | | measured (UTC) |", "|---|---|---|---|---|", ...merged.values()];
  await writeFile(path, `# dropbuild benchmarks\n\nMachine: ${machine}\n\n${table.join("\n")}\n${notes}`);
}
