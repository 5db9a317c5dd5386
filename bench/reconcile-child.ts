/**
 * One reconcile measurement in a fresh process (so its peak RSS is its own):
 * a run over the finished Jobs, then a second run with nothing changed.
 * Input (env BENCH_INPUT): the bed and the deployment's configuration.
 */
import type { BedInfo } from "../bed/state.js";
import { reconcile } from "../src/reconcile/reconcile.js";
import { countCalls } from "../test/support/counting.js";
import { benchDeploymentFor } from "./reconcile-scale.js";

const input = JSON.parse(process.env.BENCH_INPUT ?? "{}") as { bed: BedInfo; bucket: string; table: string };
const deployment = benchDeploymentFor(input.bed, input.bucket, input.table, { RECONCILE_PAGE_SIZE: "500" });
const { deps, counts } = countCalls(deployment.reconcile);
const measure = async () => {
  counts.reset();
  const started = performance.now();
  const report = await reconcile(deps);
  return {
    wallMs: performance.now() - started,
    listCalls: counts.listCalls,
    writes: counts.writes,
    recordsRead: counts.recordsRead,
    recordsUpdated: report.recordsUpdated,
    finalizersRemoved: report.finalizersRemoved,
  };
};
const first = await measure();
const second = await measure();
process.stdout.write(`${JSON.stringify({ first, second, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
