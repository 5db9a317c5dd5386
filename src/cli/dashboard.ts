import type { Command } from "commander";
import { createApiHandler } from "../api/handler.js";
import { startLocalHttp } from "../dashboard/server.js";
import { createLogger } from "../log.js";
import { apiDepsOf } from "../wiring.js";
import type { Clients } from "./clients.js";
import type { Io } from "./io.js";
import { stopOnSignals } from "./local.js";

/** The status page and API as the API function serves them, on the user's own clients. */
export const dashboardApi = (c: Clients) =>
  createApiHandler(apiDepsOf(c, c.config), createLogger("dropbuild-dashboard"));

/** `dropbuild dashboard`: the status page on localhost, read with the user's own AWS credentials. */
export function registerDashboardCommand(program: Command, clients: () => Clients, io: Io): void {
  program
    .command("dashboard")
    .description("serve the status page on localhost (reads the table with your AWS credentials)")
    .option("--port <port>", "port to listen on", "8787")
    .action(async (options: { port: string }) => {
      const server = await startLocalHttp({ api: dashboardApi(clients()) }, Number(options.port));
      const address = server.address();
      io.out(
        `status page: http://127.0.0.1:${typeof address === "object" && address ? address.port : options.port}/  (Ctrl-C stops it)\n`,
      );
      await stopOnSignals(() => new Promise((resolve) => server.close(() => resolve())));
    });
}
