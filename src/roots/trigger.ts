/** The trigger's composition root: the Lambda entry and the local runtime both build it here. */
import type { Config } from "../config.js";
import { createLogger } from "../log.js";
import { createTriggerHandler } from "../trigger/handler.js";
import { triggerDeps } from "../wiring.js";
import { clientsOf, type RootOptions } from "./options.js";

export function triggerRoot(config: Config, options: RootOptions = {}) {
  return createTriggerHandler(
    triggerDeps(clientsOf(config, options)),
    options.logger ?? createLogger("dropbuild-trigger"),
  );
}
