import { spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { stderrProgress } from "../../bed/build/progress.js";
import { repoRoot } from "../../bed/paths.js";
import { bedDown } from "../../bed/up.js";
import { environmentWith, toolEnvironment } from "../config.js";
import { startLiveView } from "../local/live-view.js";
import { type LocalRuntime, type LocalState, startLocalRuntime } from "../local/runtime.js";
import {
  clearLocalState,
  localDir,
  processAlive,
  readLocalState,
  shellExports,
  writeLocalState,
} from "../local/state.js";
import { makeBuildStore } from "../wiring.js";
import { CliError, collect, type Io, parsePairs } from "./io.js";

/** Start the runtime in this process and record it, so `local env` and `local down` find it. */
export async function runLocalInProcess(
  io: Io,
  options: {
    port?: number;
    activity?: (line: string) => void;
    functionEnv?: Record<string, string>;
    simulate?: boolean;
  },
): Promise<LocalRuntime> {
  const dir = localDir();
  mkdirSync(dir, { recursive: true });
  const runtime = await startLocalRuntime({
    stateDir: dir,
    progress: (message) => io.progress(`[local] ${message}\n`),
    activity: options.activity,
    apiPort: options.port,
    functionEnv: options.functionEnv,
    simulate: options.simulate,
  });
  await writeLocalState(runtime.state);
  return runtime;
}

/** Stop cleanly on Ctrl-C or SIGTERM: no process of the bed is left behind. */
export function stopOnSignals(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = () => {
      if (stopping) return;
      stopping = true;
      void stop().then(resolve);
    };
    process.once("SIGINT", handler);
    process.once("SIGTERM", handler);
  });
}

function summary(state: LocalState): string {
  return [
    `local dropbuild is running (pid ${state.pid})`,
    `  status page and API: ${state.apiUrl}`,
    `  AWS endpoint:        ${state.env.AWS_ENDPOINT_URL} (bucket ${state.env.CONTEXTS_BUCKET}, table ${state.env.BUILDS_TABLE})`,
    `  Kubernetes:          ${state.bed.cluster.endpoint} (KUBECONFIG ${state.env.KUBECONFIG})`,
    '  point your shell at it:  eval "$(npx dropbuild local env)"',
    "",
  ].join("\n");
}

async function detach(io: Io, port: string | undefined, settings: string[], simulate: boolean): Promise<void> {
  const dir = localDir();
  mkdirSync(dir, { recursive: true });
  const log = join(dir, "runtime.log");
  const fd = openSync(log, "a");
  const args = [
    join(repoRoot, "bin", "dropbuild.mjs"),
    "local",
    "up",
    ...(port ? ["--port", port] : []),
    ...(simulate ? ["--simulate"] : []),
    ...settings.flatMap((s) => ["--set", s]),
  ];
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: ["ignore", fd, fd],
    env: environmentWith({ DROPBUILD_LOCAL_QUIET: "1" }),
  });
  child.unref();
  io.progress(`starting in the background (log: ${log}); the first run builds the bed, which takes several minutes\n`);
  const deadline = Date.now() + 30 * 60_000;
  while (Date.now() < deadline) {
    const state = readLocalState(dir);
    if (state && state.pid === child.pid) {
      io.out(summary(state));
      return;
    }
    if (child.pid === undefined || !processAlive(child.pid))
      throw new CliError(`the local runtime exited during start-up; see ${log}`);
    await sleep(500);
  }
  throw new CliError(`the local runtime did not come up in time; see ${log}`);
}

/**
 * End the runtime process: SIGTERM, and SIGKILL if it has not exited within
 * `graceMs` (a runtime stuck in an invocation must not outlive `down`).
 * Says what it did.
 */
export async function stopRuntime(pid: number, graceMs: number): Promise<string> {
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (processAlive(pid) && Date.now() < deadline) await sleep(200);
  if (!processAlive(pid)) return `the local runtime (pid ${pid}) stopped`;
  process.kill(pid, "SIGKILL");
  while (processAlive(pid)) await sleep(100);
  return `the local runtime (pid ${pid}) did not stop within ${graceMs / 1000} s of SIGTERM; killed it (SIGKILL)`;
}

export function registerLocalCommands(program: Command, io: Io): void {
  const local = program
    .command("local")
    .description("run everything on this machine: emulators, a real control plane, the handlers");
  registerUp(local, io);
  registerEnv(local, io);
  registerNightly(local, io);
  registerDown(local);
}

type UpOptions = { detach?: boolean; port?: string; set: string[]; simulate?: boolean };

function registerUp(local: Command, io: Io): void {
  local
    .command("up")
    .description("start the local runtime (foreground with a live view, or --detach)")
    .option("--detach", "run in the background and return once it is ready")
    .option("--port <port>", "port for the status page and API (default: any free port)")
    .option("--set <NAME=value>", "function configuration, e.g. MAX_CONCURRENT_BUILDS=5 (repeatable)", collect, [])
    .option("--simulate", "no real node: kwok plays every build (nothing is built; for scale tests, or without root)")
    .action(async (options: UpOptions) => {
      const running = readLocalState(localDir());
      if (running) {
        io.out(summary(running));
        return;
      }
      const functionEnv = parsePairs(options.set, "--set");
      if (options.detach) return detach(io, options.port, options.set, Boolean(options.simulate));
      await runInForeground(io, options, functionEnv);
    });
}

/** `local up` without --detach: the runtime in this process, a live view of its builds, until a signal. */
async function runInForeground(io: Io, options: UpOptions, functionEnv: Record<string, string>): Promise<void> {
  let view: ReturnType<typeof startLiveView> | undefined;
  const quiet = toolEnvironment().localQuiet;
  const since = new Date().toISOString(); // every build of this run, even those before the view starts
  const runtime = await runLocalInProcess(io, {
    port: options.port ? Number(options.port) : undefined,
    functionEnv,
    simulate: options.simulate,
    activity: (line) => (view ? view.activity(line) : io.progress(`${line}\n`)),
  });
  io.out(summary(runtime.state));
  view = startLiveView({
    store: makeBuildStore(runtime.config, {
      accessKeyId: runtime.state.env.AWS_ACCESS_KEY_ID ?? "",
      secretAccessKey: runtime.state.env.AWS_SECRET_ACCESS_KEY ?? "",
    }),
    write: (text) => io.progress(text),
    interactive: io.interactive && !quiet,
    colour: io.colour,
    header: "Ctrl-C stops everything.",
    since,
  });
  await stopOnSignals(async () => {
    view?.stop();
    io.progress("\nstopping the local runtime...\n");
    await runtime.stop();
    await clearLocalState(localDir());
  });
  io.progress("stopped.\n");
}

/** The running runtime's state; commands that talk to it fail with exit 3 when there is none. */
function runningState(): LocalState {
  const state = readLocalState(localDir());
  if (!state) throw new CliError("the local runtime is not running; start it with `dropbuild local up --detach`", 3);
  return state;
}

function registerEnv(local: Command, io: Io): void {
  local
    .command("env")
    .description("print shell exports that point dropbuild, the AWS CLI and kubectl at the local runtime")
    .option("--json", "print them as a JSON object")
    .action((options: { json?: boolean }) => {
      const state = runningState();
      if (options.json) io.json(state.env);
      else io.out(`${shellExports(state.env)}\n`);
    });
}

function registerNightly(local: Command, io: Io): void {
  local
    .command("nightly")
    .description("run the nightly rebuild now, as its schedule would")
    .option("--date <iso>", "the night to run for (default: now); the same night builds once")
    .option("--json", "print the report as JSON")
    .action(async (options: { date?: string; json?: boolean }) => {
      const report = await invokeNightly(runningState(), options.date ?? new Date().toISOString());
      if (options.json) io.json(report);
      else io.out(`nightly: ${report.submitted?.length ?? 0} submitted, ${report.skipped?.length ?? 0} skipped\n`);
    });
}

type NightlyReport = { submitted?: { id: string; outcome: string }[]; skipped?: unknown[]; errorMessage?: string };

/** Invoke the nightly function through the runtime's Lambda API with the event its schedule sends. */
async function invokeNightly(state: LocalState, time: string): Promise<NightlyReport> {
  const fn = state.env.DROPBUILD_NIGHTLY_FUNCTION ?? "";
  const res = await fetch(`${state.apiUrl}/2015-03-31/functions/${fn}/invocations`, {
    method: "POST",
    body: JSON.stringify({
      source: "aws.events",
      "detail-type": "Scheduled Event",
      time,
    }),
  });
  const report = (await res.json()) as NightlyReport;
  if (res.headers.get("x-amz-function-error")) throw new CliError(`the nightly run failed: ${report.errorMessage}`);
  return report;
}

function registerDown(local: Command): void {
  local
    .command("down")
    .description("stop the local runtime and every process it started")
    .action(async () => {
      const dir = localDir();
      const state = readLocalState(dir);
      if (state && processAlive(state.pid)) {
        const said = await stopRuntime(state.pid, 60_000);
        stderrProgress(said);
      }
      // Whatever is left (a runtime killed with SIGKILL leaves its bed running).
      const stopped = await bedDown(join(dir, "bed"));
      await clearLocalState(dir);
      if (stopped.length) stderrProgress(`stopped ${stopped.join(", ")}`);
      stderrProgress(state || stopped.length ? "the local runtime is stopped" : "nothing was running");
    });
}
