import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";

export interface DaemonRecord {
  name: string;
  pid: number;
  log: string;
  /** How it was started, so a test can stop and restart one component. */
  command?: { file: string; args: string[]; cwd?: string };
}

/** A component that did not come up; names it and its log file. */
export class ComponentStartError extends Error {
  override name = "ComponentStartError";
  constructor(
    readonly component: string,
    readonly logFile: string,
    reason: string,
  ) {
    super(`${component} failed to start: ${reason} (log: ${logFile})`);
  }
}

export interface Daemon extends DaemonRecord {
  /** Resolves with the exit code if the process ends. */
  exited: Promise<number | null>;
}

/**
 * Start a long-running process in its own process group, output appended to
 * its log file. It outlives the launcher; `stopDaemon` ends the whole group.
 */
export function startDaemon(
  name: string,
  file: string,
  args: string[],
  options: { log: string; cwd?: string; env?: NodeJS.ProcessEnv },
): Daemon {
  const fd = openSync(options.log, "a");
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => resolve(code));
    child.on("error", () => resolve(-1));
  });
  child.unref();
  if (child.pid === undefined) throw new ComponentStartError(name, options.log, `could not spawn ${file}`);
  return { name, pid: child.pid, log: options.log, exited, command: { file, args, cwd: options.cwd } };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `probe` until it is true; fail fast, naming the component, if the process dies. */
export async function waitUntilReady(daemon: Daemon, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  let dead: number | null | undefined;
  void daemon.exited.then((code) => {
    dead = code;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (dead !== undefined) throw new ComponentStartError(daemon.name, daemon.log, `exited with ${dead}`);
    if (await probe().catch(() => false)) return;
    await sleep(150);
  }
  throw new ComponentStartError(daemon.name, daemon.log, `not ready after ${timeoutMs / 1000}s`);
}

/** Is `pid` a live process (not a zombie)? */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // An exited child nobody has reaped yet (a zombie) still answers signal 0.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

/**
 * SIGTERM the process group (and SIGCONT, so a stopped process gets it at
 * once), then SIGKILL what is left after a grace period.
 */
export async function stopDaemon(record: DaemonRecord, graceMs = 5000): Promise<void> {
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-record.pid, signal);
    } catch {
      // already gone
    }
  };
  signalGroup("SIGTERM");
  signalGroup("SIGCONT");
  const deadline = Date.now() + graceMs;
  while (isAlive(record.pid) && Date.now() < deadline) await sleep(100);
  signalGroup("SIGKILL");
  // Stopped means gone: a caller that looks right after (bed:down's teardown check) must not find it dying.
  const killDeadline = Date.now() + 5000;
  while (isAlive(record.pid) && Date.now() < killDeadline) await sleep(50);
}

/** A port the OS says is free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
