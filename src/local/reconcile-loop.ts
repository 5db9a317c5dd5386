import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../log.js";
import { logInterruption, logReport } from "../reconcile/handler.js";
import type { ReconcileDeps } from "../reconcile/reconcile.js";
import { reconcileWatching } from "../reconcile/watching.js";
import { waitAtMost } from "../util/wait-at-most.js";

const STOP_WAIT_MS = 5_000;
/** As the deployed function's timeout (serverless.yml). */
const DEFAULT_TIMEOUT_MS = 120_000;

export interface LoopSchedule {
  /** The pause between runs. */
  everyMs: number;
  /** How long each run follows the Jobs after its pass (RECONCILE_WATCH_SECONDS); 0: a pass alone. */
  windowMs?: number;
  /** Each run's time, as Lambda's timeout bounds an invocation's. */
  timeoutMs?: number;
}

/**
 * The reconciler as the local runtime schedules it: a run, a pause, the next
 * run, each run following the Jobs for `windowMs` after its pass (as each
 * Lambda invocation does; 0: a pass alone). A failed run is logged and never
 * stops the loop; a run that changed something is logged with what it did
 * and how long it took.
 */
export function startReconcileLoop(
  deps: Omit<ReconcileDeps, "remainingMs">,
  schedule: LoopSchedule,
  logger: Logger,
): { stop: () => Promise<void> } {
  const { everyMs, windowMs = 0, timeoutMs = DEFAULT_TIMEOUT_MS } = schedule;
  const stopping = new AbortController();
  const signal = stopping.signal;
  const loop = (async () => {
    while (!signal.aborted) {
      const started = performance.now();
      const ms = () => Math.round(performance.now() - started);
      try {
        const remainingMs = () => timeoutMs - (performance.now() - started);
        const report = await reconcileWatching(
          { ...deps, remainingMs },
          {
            windowMs,
            signal,
            onInterrupted: logInterruption(logger),
          },
        );
        logReport(logger, report, { always: false, ms: ms() });
      } catch (error: unknown) {
        logger.error("reconcile run failed", { ms: ms() }, error as Error);
      }
      await sleep(everyMs, undefined, { signal }).catch(() => undefined);
    }
  })();
  return {
    // A run under way may finish, but stopping does not wait on one stuck on an unanswering API server
    // longer than a few seconds: an abandoned run is safe (every write is conditional), as when Lambda ends one.
    stop: async () => {
      stopping.abort();
      await waitAtMost(loop, STOP_WAIT_MS);
    },
  };
}
