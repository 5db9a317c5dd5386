import type { Command } from "commander";
import type { Clients } from "./clients.js";
import type { Io } from "./io.js";

/** Command groups beyond submit/builds: local runtime, dashboard, redrive. */
export function registerExtensions(_program: Command, _clients: () => Clients, _io: Io): void {}
