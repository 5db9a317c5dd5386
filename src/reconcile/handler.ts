import type { Logger } from "../log.js";
import { type ReconcileDeps, type ReconcileReport, reconcile } from "./reconcile.js";

/** The scheduled reconciler: one run per invocation, stopping before the Lambda timeout. */
export function createReconcileHandler(deps: Omit<ReconcileDeps, "remainingMs">, logger: Logger) {
  return async (remainingMs: () => number): Promise<ReconcileReport> => {
    const report = await reconcile({ ...deps, remainingMs });
    if (report.failures.length > 0)
      logger.error("reconcile run finished; some Jobs could not be settled", { ...report });
    else logger.info("reconcile run finished", { ...report });
    return report;
  };
}
