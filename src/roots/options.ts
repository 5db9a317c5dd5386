import type { AwsCredentialIdentity } from "@smithy/types";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import { type FunctionClients, functionClients } from "../wiring.js";

/** How a composition root is given what differs between Lambda and the local runtime. */
export interface RootOptions {
  /** Shared with the other functions of the process (the local runtime); made here otherwise. */
  clients?: FunctionClients;
  /** Explicit credentials (the local runtime's function identity); Lambda's role otherwise. */
  credentials?: AwsCredentialIdentity;
  logger?: Logger;
}

export const clientsOf = (config: Config, options: RootOptions): FunctionClients =>
  options.clients ?? functionClients(config, options.credentials);
