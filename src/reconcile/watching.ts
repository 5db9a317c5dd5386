import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../util/error-message.js";
import { emptyReport, MAX_FAILURES_REPORTED, type ReconcileDeps, type ReconcileReport, SAFETY_MS } from "./deps.js";
import { followJobs } from "./follow.js";
import { ReconcileMemory } from "./memory.js";
import { type PassResult, reconcilePass } from "./reconcile.js";

/** After a failed watch, wait this long before listing again, so a cluster that refuses us is not hammered. */
const RETRY_PAUSE_MS = 1_000;

export interface WatchingOptions {
  /** How long the run keeps following changes after its first pass; 0: one pass, as a plain run. */
  windowMs: number;
  /** Ends the run early (the local runtime stopping). */
  signal?: AbortSignal;
  /** Told when the watch, or a pass after the first, failed; the run carries on with a new pass. */
  onInterrupted?: (error: string) => void;
}

/**
 * One reconciler invocation that does not leave the cluster alone until the
 * next schedule: a whole pass, then following the Jobs' changes as they
 * happen (see followJobs) for the rest of its window, with a new pass
 * whenever the watch cannot go on. A build released or finished during the
 * window is acted on within moments rather than at the next scheduled run;
 * with the window a little shorter than the schedule's period, the
 * invocations follow each other with only a short gap, and reserved
 * concurrency 1 keeps them from overlapping.
 */
export async function reconcileWatching(deps: ReconcileDeps, options: WatchingOptions): Promise<ReconcileReport> {
  const own = { ...deps, memory: deps.memory ?? new ReconcileMemory() };
  const signal = options.signal ?? new AbortController().signal;
  const endsAt = performance.now() + options.windowMs;
  const left = () => Math.min(endsAt - performance.now(), deps.remainingMs() - SAFETY_MS);
  const total = emptyReport();
  const pause = () =>
    sleep(Math.min(RETRY_PAUSE_MS, Math.max(0, left())), undefined, { signal }).catch(() => undefined);
  // A pass after the first stays inside the window, so the invocation ends before the next is due.
  const withinWindow = { ...own, remainingMs: () => Math.min(deps.remainingMs(), left() + SAFETY_MS) };
  for (let first = true; ; first = false) {
    let pass: PassResult;
    const started = performance.now();
    try {
      pass = await reconcilePass(first ? own : withinWindow);
    } catch (error: unknown) {
      // The first pass failing fails the invocation, as a plain run's does; a later one is tried again.
      if (first) throw error;
      options.onInterrupted?.(errorMessage(error));
      await pause();
      if (left() <= 0 || signal.aborted) break;
      continue;
    }
    addReport(total, pass.report);
    if (pass.report.stoppedEarly || pass.resourceVersion === undefined || left() <= 0 || signal.aborted) break;
    const followed = await followJobs(own, pass, total, { left, signal });
    if (followed.end === "done" || left() <= 0 || signal.aborted) break;
    if (followed.end === "failed") {
      options.onInterrupted?.(followed.error);
      await pause();
    } else if (performance.now() - started < RETRY_PAUSE_MS) {
      // Expired again at once: list again, but not back to back.
      await pause();
    }
  }
  return total;
}

/** Add a pass's counts to the run's. */
function addReport(total: ReconcileReport, pass: ReconcileReport): void {
  for (const key of Object.keys(total) as (keyof ReconcileReport)[]) {
    const value = pass[key];
    if (typeof value === "number") (total[key] as number) += value;
  }
  total.stoppedEarly ||= pass.stoppedEarly;
  total.failures.push(...pass.failures.slice(0, MAX_FAILURES_REPORTED - total.failures.length));
}
