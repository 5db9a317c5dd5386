/**
 * One reconcile measurement in a fresh process (so its peak RSS is its own):
 * a run over the finished Jobs, then a second run with nothing changed.
 * Input (env BENCH_INPUT): the bed and the deployment's configuration.
 */
import type { BedInfo } from "../bed/state.js";
import { type ReconcileDeps, reconcile } from "../src/reconcile/reconcile.js";
import { benchDeploymentFor } from "./reconcile-scale.js";

const input = JSON.parse(process.env.BENCH_INPUT ?? "{}") as { bed: BedInfo; bucket: string; table: string };
const deployment = benchDeploymentFor(input.bed, input.bucket, input.table, { RECONCILE_PAGE_SIZE: "500" });
const counts = { listCalls: 0, writes: 0 };
const deps: ReconcileDeps = deployment.reconcile;
const listJobs = deps.cluster.listJobs.bind(deps.cluster);
deps.cluster.listJobs = (...args) => {
  counts.listCalls += 1;
  return listJobs(...args);
};
for (const method of ["advance", "markEventPublished", "claimEvent", "create"] as const) {
  const original = (deps.store[method] as (...a: unknown[]) => Promise<unknown>).bind(deps.store);
  (deps.store as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    counts.writes += 1;
    return original(...args);
  };
}
const measure = async () => {
  counts.listCalls = 0;
  counts.writes = 0;
  const started = performance.now();
  const report = await reconcile(deps);
  return {
    wallMs: performance.now() - started,
    ...counts,
    recordsUpdated: report.recordsUpdated,
    finalizersRemoved: report.finalizersRemoved,
  };
};
const first = await measure();
const second = await measure();
process.stdout.write(`${JSON.stringify({ first, second, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
