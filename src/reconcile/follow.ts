import { setTimeout as sleep } from "node:timers/promises";
import type { JobChange } from "../kube/cluster.js";
import type { WireJob } from "../kube/wire.js";
import { errorMessage } from "../util/error-message.js";
import { type ReconcileDeps, type ReconcileReport, SAFETY_MS } from "./deps.js";
import { jobFinished } from "./lifecycle.js";
import type { ReconcileMemory } from "./memory.js";
import { type PassResult, settlePage } from "./reconcile.js";
import { releaseQueue } from "./release-queue.js";

/** Changes arriving this soon after the first are handled together (a burst of uploads is one release). */
const BATCH_MS = 50;
/** A watch that ends sooner than this without an event is re-opened only after this long. */
const EARLY_END_MS = 1_000;

export interface FollowOptions {
  /** Milliseconds this follower may still run; it returns once this reaches 0. */
  left: () => number;
  signal: AbortSignal;
}

/**
 * Why following stopped: its time is up (or it was aborted); the watch's
 * starting point expired, so a whole pass must list again; or the watch
 * failed (the message), after which a pass lists again too.
 */
export type FollowEnd = { end: "done" } | { end: "relist" } | { end: "failed"; error: string };

/**
 * After a whole pass, follow the build Jobs from its snapshot instead of
 * waiting for the next run: each change settles its Job (running, outcome,
 * log, event, finalizer: the same `settle` a pass uses) and, under a cap,
 * releases the queue from the Jobs known now, within moments of the change.
 * The unfinished Jobs are kept from the pass's list and the watch's events;
 * a Job the pass or this follower released counts as running until an event
 * shows it released, so a replayed or late event can never make a slot look
 * free twice. The sweep for lost Jobs stays with the passes.
 */
export async function followJobs(
  deps: ReconcileDeps & { memory: ReconcileMemory },
  pass: PassResult,
  report: ReconcileReport,
  options: FollowOptions,
): Promise<FollowEnd> {
  const unfinished = new Map(pass.unfinished.map((job) => [job.metadata?.name ?? "", job]));
  const released = new Set<string>(pass.released);
  const stop = new AbortController();
  const signal = AbortSignal.any([options.signal, stop.signal]);
  const changes = watchFrom(deps, pass.resourceVersion ?? "", options.left, signal);
  const outOfTime = () => options.left() <= 0 || deps.remainingMs() < SAFETY_MS;
  try {
    for (;;) {
      const batch = await changes.next();
      if ("end" in batch) return batch;
      const changed = new Map<string, WireJob>();
      for (const change of batch.changes) {
        const name = change.job.metadata?.name ?? "";
        const gone = change.type === "DELETED" || jobFinished(change.job);
        if (gone) unfinished.delete(name);
        else unfinished.set(name, change.job);
        if (gone || !change.job.spec?.suspend) released.delete(name);
        if (change.type !== "DELETED") changed.set(name, change.job);
      }
      try {
        await settlePage([...changed.values()], deps, report, outOfTime);
        const known = [...unfinished.values()].map((job) => shownReleased(job, released));
        for (const name of await releaseQueue(known, deps.memory, deps, report)) released.add(name);
      } catch (error: unknown) {
        // A read or release the cluster or the table refused: a new pass starts again from what is there.
        return { end: "failed", error: errorMessage(error) };
      }
      if (outOfTime()) return { end: "done" };
    }
  } finally {
    stop.abort();
  }
}

/** The Job as this reconciler knows it now: released if it released it (its watch event may come later). */
function shownReleased(job: WireJob, released: ReadonlySet<string>): WireJob {
  return job.spec?.suspend && released.has(job.metadata?.name ?? "") ? { ...job, spec: { suspend: false } } : job;
}

type JobEvent = Extract<JobChange, { job: WireJob }>;

interface ChangeBatches {
  /** The changes since the last call, waiting for at least one; or how the watch ended. */
  next(): Promise<{ changes: JobEvent[] } | FollowEnd>;
}

/**
 * The watch, re-opened from the last version seen whenever the API server
 * ends it, buffered so that changes arriving while a batch is handled make
 * up the next batch.
 */
function watchFrom(deps: ReconcileDeps, from: string, left: () => number, signal: AbortSignal): ChangeBatches {
  const pending: JobEvent[] = [];
  let ended: FollowEnd | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  void (async () => {
    let version = from;
    try {
      while (!signal.aborted && left() > 0) {
        const timeoutSeconds = Math.max(1, Math.ceil(left() / 1000));
        const watch = deps.cluster.watchJobs(deps.settings.namespace, deps.settings.job.deployment, version, {
          signal,
          timeoutSeconds,
        });
        const opened = performance.now();
        let events = 0;
        for await (const change of watch) {
          events += 1;
          if (change.type === "EXPIRED") {
            ended = { end: "relist" };
            return;
          }
          if (change.type === "BOOKMARK") version = change.resourceVersion;
          else {
            version = change.job.metadata?.resourceVersion ?? version;
            pending.push(change);
            notify();
          }
        }
        // A watch ended at once with nothing (a proxy cutting it): do not re-open it in a tight loop.
        if (events === 0 && performance.now() - opened < EARLY_END_MS) {
          await sleep(EARLY_END_MS, undefined, { signal }).catch(() => undefined);
        }
      }
      ended = { end: "done" };
    } catch (error: unknown) {
      ended = signal.aborted ? { end: "done" } : { end: "failed", error: errorMessage(error) };
    } finally {
      notify();
    }
  })();
  return {
    async next() {
      while (pending.length === 0 && !ended) {
        // Woken by a change or the watch's end (an abort ends it too), or when the time is up.
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, Math.max(0, left()));
        });
        clearTimeout(timer);
        if (left() <= 0 || signal.aborted) return { end: "done" };
      }
      if (pending.length === 0) return ended ?? { end: "done" };
      await sleep(BATCH_MS);
      return { changes: pending.splice(0) };
    },
  };
}
