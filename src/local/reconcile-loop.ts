import type { Logger } from "../log.js";
import { logReport } from "../reconcile/handler.js";
import { type ReconcileDeps, reconcile } from "../reconcile/reconcile.js";
import { waitAtMost } from "../util/wait-at-most.js";

const STOP_WAIT_MS = 5_000;

/**
 * The reconciler as the local runtime schedules it: a run, a pause, the next
 * run. A failed run is logged and never stops the loop; a run that changed
 * something is logged with what it did and how long it took.
 */
export function startReconcileLoop(
  deps: ReconcileDeps,
  everyMs: number,
  logger: Logger,
): { stop: () => Promise<void> } {
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const ms = () => Math.round(performance.now() - started);
      try {
        const report = await reconcile(deps);
        logReport(logger, report, { always: false, ms: ms() });
      } catch (error: unknown) {
        logger.error("reconcile run failed", { ms: ms() }, error as Error);
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    // A run under way may finish, but stopping does not wait on one stuck on an unanswering API server
    // longer than a few seconds: an abandoned run is safe (every write is conditional), as when Lambda ends one.
    stop: async () => {
      running = false;
      await waitAtMost(loop, STOP_WAIT_MS);
    },
  };
}
