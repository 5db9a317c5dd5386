import type { Command } from "commander";
import type { Clients } from "./clients.js";
import { registerDashboardCommand } from "./dashboard.js";
import { registerDemoCommand } from "./demo.js";
import type { Io } from "./io.js";
import { registerLocalCommands } from "./local.js";
import { registerRebuildCommands } from "./rebuild.js";

/** Command groups beyond submit/builds: local runtime, demo, dashboard. */
export function registerExtensions(program: Command, clients: () => Clients, io: Io): void {
  registerLocalCommands(program, io);
  registerDemoCommand(program, io);
  registerDashboardCommand(program, clients, io);
  registerRebuildCommands(program, clients, io);
}
