/** The reconciler's composition root: the Lambda entry and the local runtime's loop both build it here. */
import type { Config } from "../config.js";
import { createLogger } from "../log.js";
import { createReconcileHandler } from "../reconcile/handler.js";
import { reconcileDeps } from "../wiring.js";
import { clientsOf, type RootOptions } from "./options.js";

/** The scheduled handler: one run per invocation, given the invocation's remaining time. */
export function reconcileRoot(config: Config, options: RootOptions = {}) {
  return createReconcileHandler(
    reconcileDeps(clientsOf(config, options)),
    options.logger ?? createLogger("dropbuild-reconcile"),
    config.reconcileWatchSeconds * 1000,
  );
}
