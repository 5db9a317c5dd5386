/** The nightly function's composition root: the Lambda entry and the local runtime both build it here. */
import type { Config } from "../config.js";
import { createLogger } from "../log.js";
import { createRebuildHandler } from "../rebuild/handler.js";
import { rebuildDeps } from "../wiring.js";
import { clientsOf, type RootOptions } from "./options.js";

export function nightlyRoot(config: Config, options: RootOptions = {}) {
  return createRebuildHandler(
    rebuildDeps(clientsOf(config, options)),
    options.logger ?? createLogger("dropbuild-nightly"),
  );
}
