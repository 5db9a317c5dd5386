import { setTimeout as sleep } from "node:timers/promises";
import type { BuildStatus } from "../build/record.js";
import { type BuildLog, type LogDeps, type ReadFrom, readBuildLog } from "../builds/log.js";
import { errorMessage } from "../util/error-message.js";
import { CliError, type Io } from "./io.js";

/** Printed where a retried build's log starts over with its new attempt. */
export const RESTART_MARKER = "--- attempt restarted ---";
/** Printed before the whole archived log when what was printed live cannot be found in it. */
export const ARCHIVE_MARKER = "--- the archived log ---";

/** Failed reads in a row (cluster or AWS unreachable) a follower rides out before giving up. */
const MAX_FAILED_READS = 5;

type Read = (at: ReadFrom) => Promise<BuildLog | undefined>;

interface FollowState {
  /** What was printed of the current attempt's live log. */
  attempt: string;
  /** The pod that log is read from: a read of another pod's log starts at 0 (see readBuildLog). */
  pod?: string;
}

/**
 * `builds logs --follow`: print a build's log as it grows, reading it again
 * from where the last read ended about every `intervalMs`, until the build
 * has finished and the rest of its archived log is printed. The log goes to
 * stdout; remarks (no log yet, a failed read) to stderr. Returns the
 * finished build's status.
 */
export async function followBuildLog(
  id: string,
  deps: LogDeps,
  io: Io,
  options: { intervalMs?: number } = {},
): Promise<BuildStatus> {
  const state: FollowState = { attempt: "" };
  const read = reader(id, deps, io);
  let note: string | undefined;
  for (;;) {
    // Sending the pod makes the archive, another text than any pod's log (every attempt under a heading), come whole.
    const log = await read({ offset: state.attempt.length, pod: state.pod });
    if (log) {
      if (log.source === "archive") printArchive(log.text, state, io);
      else if (log.source === "live") printLive(log, state, io);
      if (log.note !== undefined && log.note !== note) io.progress(`(${log.note})\n`);
      note = log.note;
      if (log.complete) return log.status;
    }
    await sleep(options.intervalMs ?? 1000);
  }
}

/** Print what is new in a read of the live log; a marker and all of it when another pod's log started over. */
function printLive(log: BuildLog, state: FollowState, io: Io): void {
  const restarted = log.from === 0 && state.attempt !== "";
  io.out(restarted ? `${RESTART_MARKER}\n${log.text}` : log.text);
  state.attempt = log.from === 0 ? log.text : state.attempt + log.text;
  state.pod = log.pod;
}

/** The archived log, once: what follows what was printed live, or all of it when nothing was. */
function printArchive(whole: string, state: FollowState, io: Io): void {
  const at = state.attempt ? whole.lastIndexOf(state.attempt) : -1;
  if (at >= 0) io.out(whole.slice(at + state.attempt.length));
  else io.out(state.attempt ? `${ARCHIVE_MARKER}\n${whole}` : whole);
}

/** readBuildLog that rides out a few failed reads in a row; undefined for a failed read. */
function reader(id: string, deps: LogDeps, io: Io): Read {
  let failures = 0;
  return async (at) => {
    let log: BuildLog | undefined;
    try {
      log = await readBuildLog(id, deps, at);
    } catch (error: unknown) {
      failures += 1;
      if (failures >= MAX_FAILED_READS) throw error;
      io.progress(`(could not read the log, trying again: ${errorMessage(error)})\n`);
      return undefined;
    }
    failures = 0;
    if (!log) throw new CliError(`no build with id ${id}`, 3);
    return log;
  };
}
