import type { WireJob } from "../kube/wire.js";
import { errorMessage } from "../util/error-message.js";
import { pool } from "../util/pool.js";
import {
  CONCURRENCY,
  emptyReport,
  MAX_FAILURES_REPORTED,
  type ReconcileDeps,
  type ReconcileReport,
  SAFETY_MS,
} from "./deps.js";
import { decide, jobFinished, mayNeedRecord } from "./lifecycle.js";
import { ReconcileMemory } from "./memory.js";
import { buildIdOf } from "./observe.js";
import { releaseQueue } from "./release-queue.js";
import { settle } from "./settle.js";
import { recreateMissingJobs } from "./sweep.js";

export type { ReconcileDeps, ReconcileReport, ReconcileSettings } from "./deps.js";

/**
 * One reconcile run: page through the build Jobs, move each record forward,
 * archive logs and publish the outcome before releasing the Job to TTL
 * cleanup, then re-create Jobs for builds stuck QUEUED without one.
 */
export async function reconcile(deps: ReconcileDeps): Promise<ReconcileReport> {
  return (await reconcilePass(deps)).report;
}

/** What a whole pass saw: where a watch that follows it starts. */
export interface PassResult {
  report: ReconcileReport;
  /** Unfinished Jobs as listed (see `released` for those released since). Empty when the pass stopped early. */
  unfinished: WireJob[];
  /** The list's snapshot; undefined when the pass stopped early. */
  resourceVersion?: string;
  /**
   * Names of the Jobs this pass released. A watch from the list's snapshot
   * replays their changes from before the release, still suspended: they
   * count as running until an event shows them released.
   */
  released: ReadonlySet<string>;
}

/** A reconcile run that also says what it saw, for a watch to carry on from. */
export async function reconcilePass(deps: ReconcileDeps): Promise<PassResult> {
  const report = emptyReport();
  const stopped = (): PassResult => {
    report.stoppedEarly = true;
    return { report, unfinished: [], released: new Set() };
  };
  const outOfTime = () => deps.remainingMs() < SAFETY_MS;
  const memory = deps.memory ?? new ReconcileMemory();
  const seen = new Set<string>();
  // Only unfinished Jobs matter to the queue; keeping finished ones would grow memory with the cluster's history.
  const unfinished: WireJob[] = [];
  let continueToken: string | undefined;
  let resourceVersion: string | undefined;
  do {
    if (outOfTime()) return stopped();
    const page = await deps.cluster.listJobs(
      deps.settings.namespace,
      deps.settings.job.deployment,
      deps.settings.pageSize,
      continueToken,
    );
    continueToken = page.continueToken;
    resourceVersion ??= page.resourceVersion;
    report.jobsSeen += page.jobs.length;
    for (const job of page.jobs) {
      const id = buildIdOf(job);
      if (id) seen.add(id);
    }
    unfinished.push(...page.jobs.filter((job) => !jobFinished(job)));
    if (!(await settlePage(page.jobs, deps, report, outOfTime))) return stopped();
  } while (continueToken);
  // The queue is only released on a run that saw every Job, so the count of running builds is true.
  const released = await releaseQueue(unfinished, memory, deps, report);
  await recreateMissingJobs(seen, memory, deps, report);
  return { report, unfinished, resourceVersion, released };
}

/**
 * Settle one page of Jobs: read the records of those in motion, and the pods
 * of those something is to be done for (a run where nothing changed writes
 * nothing), then carry out each Job's decision, a few at once. One Job
 * failing is reported and does not stop the others. False when the time ran
 * out before every Job was started.
 */
export async function settlePage(
  jobs: WireJob[],
  deps: ReconcileDeps,
  report: ReconcileReport,
  outOfTime: () => boolean,
): Promise<boolean> {
  const candidates = jobs.filter(mayNeedRecord);
  const records = await deps.store.getMany(candidates.map(buildIdOf).filter((id): id is string => Boolean(id)));
  const work = candidates.filter((job) => decide(job, records.get(buildIdOf(job) ?? "")).act !== "none");
  const pods = await deps.cluster.listPods(
    deps.settings.namespace,
    work.map((job) => buildIdOf(job) ?? "").filter(Boolean),
  );
  const settled = await pool(
    work,
    CONCURRENCY,
    async (job) => {
      const id = buildIdOf(job) ?? "";
      const own = pods.filter((pod) => buildIdOf(pod) === id);
      try {
        await settle(job, own, records.get(id), deps, report);
      } catch (error: unknown) {
        if (report.failures.length < MAX_FAILURES_REPORTED) {
          report.failures.push({ buildId: id, error: errorMessage(error) });
        }
      }
    },
    outOfTime,
  );
  return settled.length === work.length;
}
