/** The HTTP API's composition root: the Lambda entry and the local runtime both build it here. */
import { createApiHandler } from "../api/handler.js";
import type { Config } from "../config.js";
import { createLogger } from "../log.js";
import { apiDeps } from "../wiring.js";
import { clientsOf, type RootOptions } from "./options.js";

export function apiRoot(config: Config, options: RootOptions = {}) {
  return createApiHandler(apiDeps(clientsOf(config, options)), options.logger ?? createLogger("dropbuild-api"));
}
