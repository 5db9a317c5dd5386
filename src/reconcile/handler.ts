import type { Logger } from "../log.js";
import type { ReconcileDeps, ReconcileReport } from "./reconcile.js";
import { reconcileWatching } from "./watching.js";

/**
 * The scheduled reconciler: per invocation a pass, then following the Jobs
 * for `windowMs` (RECONCILE_WATCH_SECONDS; 0: the pass alone), stopping
 * before the Lambda timeout either way.
 */
export function createReconcileHandler(deps: Omit<ReconcileDeps, "remainingMs">, logger: Logger, windowMs: number) {
  return async (remainingMs: () => number): Promise<ReconcileReport> => {
    const report = await reconcileWatching(
      { ...deps, remainingMs },
      {
        windowMs,
        onInterrupted: logInterruption(logger),
      },
    );
    logReport(logger, report, { always: true });
    return report;
  };
}

/** Log a run's watch interrupted (it lists again and carries on): a warning, with why. */
export function logInterruption(logger: Logger): (error: string) => void {
  return (error) => logger.warn("following the Jobs was interrupted; listing again", { error });
}

/**
 * Log a run: each Job it could not settle on its own error line with the
 * build id (searchable: buildId = …), then what the run did. `always`
 * false logs a quiet run (nothing done, nothing failed) not at all.
 */
export function logReport(logger: Logger, report: ReconcileReport, options: { always: boolean; ms?: number }): void {
  for (const failure of report.failures) logger.error("could not settle a build's Job", { ...failure });
  const { failures, ...counts } = report;
  const summary = { ...counts, failed: failures.length, ...(options.ms === undefined ? {} : { ms: options.ms }) };
  const busy = report.recordsUpdated || report.finalizersRemoved || report.jobsRecreated || report.released;
  if (failures.length > 0 || busy || options.always) logger.info("reconcile run finished", summary);
}
