import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { BUILD_STATUSES, type BuildRecord, isTerminal } from "../build/record.js";
import { cancelBuild } from "../builds/cancel.js";
import { type LogDeps, readBuildLog } from "../builds/log.js";
import { readBuildPhase } from "../builds/phase.js";
import { listBuilds, parseListQuery } from "../builds/query.js";
import { toolEnvironment } from "../config.js";
import { formatDuration, formatRecord, formatTable } from "../util/format.js";
import type { Clients } from "./clients.js";
import { followBuildLog } from "./follow.js";
import { CliError, type Io } from "./io.js";
import { phaseDeps, progressLine, progressPrinter } from "./progress.js";

export async function showBuild(id: string, clients: Clients): Promise<BuildRecord> {
  const record = await clients.store.get(id);
  if (!record) throw new CliError(`no build with id ${id}`, 3);
  return record;
}

/** Exit codes of `builds wait`: 0 succeeded; 1 failed, rejected or cancelled; 2 timed out. */
/** SKIPPED exits 0: the image its inputs make is the one already built. */
export const WAIT_EXIT = { SUCCEEDED: 0, SKIPPED: 0, FAILED: 1, REJECTED: 1, CANCELLED: 1, timeout: 2 } as const;

/**
 * Follow a build until it finishes, printing its phase (queued with its
 * position, fetching the context, building a step, pushing) as progress;
 * without cluster access, its status. The finished record, or undefined on timeout.
 */
export async function waitForBuild(
  id: string,
  clients: Clients,
  io: Io,
  options: { timeoutMs: number; intervalMs?: number; quiet?: boolean },
): Promise<BuildRecord | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  const started = Date.now();
  const printer = progressPrinter(io, options.quiet);
  const deps = phaseDeps(clients);
  let lastStep: string | undefined;
  while (Date.now() < deadline) {
    const reading = await readBuildPhase(id, deps, lastStep);
    lastStep = reading?.phase?.step;
    if (reading?.problem)
      printer.warnOnce(`could not read the build's pod, showing its status only: ${reading.problem}`);
    printer.show(progressLine(reading, io.colour), formatDuration(Math.round((Date.now() - started) / 1000)));
    if (reading && isTerminal(reading.record.status)) {
      printer.end();
      return reading.record;
    }
    await sleep(options.intervalMs ?? 1000);
  }
  printer.end();
  return undefined;
}

export async function buildLogs(id: string, clients: Clients): Promise<string> {
  const log = await readBuildLog(id, logDeps(clients));
  if (!log) throw new CliError(`no build with id ${id}`, 3);
  return log.note === undefined ? log.text : `(${log.note})\n`;
}

/** What reading a build's log needs, from a person's clients. */
export const logDeps = (clients: Clients): LogDeps => ({
  store: clients.store,
  logs: clients.logs,
  cluster: clients.cluster,
  namespace: clients.config.namespace,
});

export function registerBuildCommands(program: Command, clients: () => Clients, io: Io): void {
  const builds = program.command("builds").description("list, show, wait for, read logs of, and cancel builds");
  registerList(builds, clients, io);
  registerShow(builds, clients, io);
  registerWait(builds, clients, io);
  registerLogs(builds, clients, io);
  registerCancel(builds, clients, io);
}

function registerList(builds: Command, clients: () => Clients, io: Io): void {
  builds
    .command("list")
    .description("recent builds, newest first")
    .option("--repository <repository>", "only this repository")
    .option("--status <status>", `only this status (${BUILD_STATUSES.join(", ")})`)
    .option("--since <time>", "submitted since an ISO time or an age (30m, 12h, 7d)")
    .option("--until <time>", "submitted until an ISO time or an age (with --since: a time range)")
    .option("--limit <n>", "at most this many", "50")
    .option("--cursor <cursor>", "continue from a previous --json page")
    .option("--json", "print JSON ({ builds, cursor }) for scripts")
    .action(async (options: Record<string, string | boolean | undefined>) => {
      const query = parseListQuery(
        {
          repository: options.repository as string | undefined,
          status: options.status as string | undefined,
          since: options.since as string | undefined,
          until: options.until as string | undefined,
          limit: options.limit as string | undefined,
          cursor: options.cursor as string | undefined,
        },
        new Date(),
      );
      if (!query.ok) throw new CliError(query.reason, 64);
      const list = await listBuilds(clients().store, query.value);
      if (options.json) io.json(list);
      else
        io.out(
          `${formatTable(list.builds, new Date(), io.colour)}\n${list.cursor ? `(more: --cursor ${list.cursor})\n` : ""}`,
        );
    });
}

function registerShow(builds: Command, clients: () => Clients, io: Io): void {
  builds
    .command("show <id>")
    .description("one build's record")
    .option("--json", "print the record as JSON")
    .action(async (id: string, options: { json?: boolean }) => {
      const record = await showBuild(id, clients());
      if (options.json) io.json(record);
      else io.out(`${formatRecord(record, new Date(), io.colour)}\n`);
    });
}

function registerWait(builds: Command, clients: () => Clients, io: Io): void {
  builds
    .command("wait <id>")
    .description("follow a build until it finishes; exit 0 if it succeeded, 1 if not, 2 on timeout")
    .option("--timeout <seconds>", "give up after this long", "3600")
    .option("--json", "print the final record as JSON")
    .action(async (id: string, options: { timeout: string; json?: boolean }) => {
      const record = await waitForBuild(id, clients(), io, {
        timeoutMs: Number(options.timeout) * 1000,
        quiet: options.json,
      });
      if (!record) {
        if (options.json) io.json({ id, status: "TIMEOUT" });
        throw new CliError(
          `build ${id} did not finish within ${options.timeout}s`,
          WAIT_EXIT.timeout,
          Boolean(options.json),
        );
      }
      if (options.json) io.json(record);
      else io.out(`${formatRecord(record, new Date(), io.colour)}\n`);
      io.exitCode(WAIT_EXIT[record.status as keyof typeof WAIT_EXIT] ?? 1);
    });
}

function registerLogs(builds: Command, clients: () => Clients, io: Io): void {
  builds
    .command("logs <id>")
    .description("the builder's logs: archived in S3, or live from the pod while it runs")
    .option("--follow", "print the log as it grows until the build ends; exit 0 if it succeeded, 1 if not")
    .option("--json", "print { id, logs } as JSON")
    .action(async (id: string, options: { follow?: boolean; json?: boolean }) => {
      if (options.follow && options.json)
        throw new CliError("--follow streams text; it cannot be used with --json", 64);
      if (options.follow) {
        const status = await followBuildLog(id, logDeps(clients()), io);
        io.exitCode(WAIT_EXIT[status as keyof typeof WAIT_EXIT] ?? 1);
        return;
      }
      const text = await buildLogs(id, clients());
      if (options.json) io.json({ id, logs: text });
      else io.out(text);
    });
}

function registerCancel(builds: Command, clients: () => Clients, io: Io): void {
  builds
    .command("cancel <id>")
    .description("stop a build: deletes its Job and records CANCELLED")
    .option("--json", "print the outcome as JSON")
    .action(async (id: string, options: { json?: boolean }) => {
      const c = clients();
      if (!c.cluster) throw new CliError("cancel needs the cluster: set CLUSTER_NAME or KUBECONFIG_PATH", 64);
      const result = await cancelBuild(
        id,
        {
          store: c.store,
          cluster: c.cluster,
          logs: c.logs,
          events: c.events,
          namespace: c.config.namespace,
          now: () => new Date(),
        },
        cancelledBy(toolEnvironment().user),
      );
      if (options.json) io.json(result);
      else if (result.outcome === "not-found") throw new CliError(`no build with id ${id}`, 3);
      else if (result.outcome === "already-finished")
        io.out(`build ${id} had already finished: ${result.record.status}\n`);
      else io.out(`cancelled build ${id}\n`);
    });
}

/** Who a cancel from the CLI is recorded as: the user, when the shell says who. */
const cancelledBy = (user: string | undefined) => (user ? `${user} (dropbuild CLI)` : "the dropbuild CLI");
