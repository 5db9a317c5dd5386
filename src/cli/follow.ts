import type { BuildStatus } from "../build/record.js";
import { type BuildLog, type LogDeps, readBuildLog } from "../builds/log.js";
import { errorMessage } from "../util/error-message.js";
import { CliError, type Io } from "./io.js";

/** Printed where a retried build's log starts over with its new attempt. */
export const RESTART_MARKER = "--- attempt restarted ---";
/** Printed before the whole archived log when what was printed live cannot be found in it. */
export const ARCHIVE_MARKER = "--- the archived log ---";

/** Failed reads in a row (cluster or AWS unreachable) a follower rides out before giving up. */
const MAX_FAILED_READS = 5;
/**
 * Each read starts this many characters before the end of what was printed,
 * and must repeat them: a retry's log that has already grown past that point
 * is told from the continuation of the same one.
 */
const OVERLAP = 64;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Read = (offset: number) => Promise<BuildLog | undefined>;

interface FollowState {
  /** What was printed of the current attempt's live log. */
  attempt: string;
  /** The archive's length once it was printed; undefined before. */
  archived?: number;
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
    const log = state.archived === undefined ? await readLive(read, state) : await read(state.archived);
    // The archive is another text than the pod's log (every attempt, each under a heading): it is read whole.
    const whole = log?.source === "archive" && state.archived === undefined && log.from > 0 ? await read(0) : log;
    if (log && whole) {
      if (whole.source === "archive" && state.archived === undefined) printArchive(whole.text, state, io);
      else printLive(whole, state, io);
      if (log.note !== undefined && log.note !== note) io.progress(`(${log.note})\n`);
      note = log.note;
      if (whole.complete) return whole.status;
    }
    await sleep(options.intervalMs ?? 1000);
  }
}

/** The live log on from a little before what was printed; the whole of it when it is not the one printed. */
async function readLive(read: Read, state: FollowState): Promise<BuildLog | undefined> {
  const log = await read(Math.max(0, state.attempt.length - OVERLAP));
  if (log?.source !== "live" || log.from === 0 || continues(log, state)) return log;
  return read(0);
}

/** The read repeats the end of what was printed: the same attempt's log, grown. */
const continues = (log: BuildLog, state: FollowState) => log.text.startsWith(state.attempt.slice(log.from));

/** Print what is new in a read of the live log; a marker and all of it when a new attempt started over. */
function printLive(log: BuildLog, state: FollowState, io: Io): void {
  // No log for now (between a retry's pods): keep the place.
  if (log.source === "none") return;
  if (continues(log, state)) {
    const fresh = log.text.slice(state.attempt.length - log.from);
    io.out(fresh);
    state.attempt += fresh;
  } else if (log.from === 0) {
    io.out(`${RESTART_MARKER}\n${log.text}`);
    state.attempt = log.text;
  }
}

/** The archived log, once: what follows what was printed live, or all of it when nothing was. */
function printArchive(whole: string, state: FollowState, io: Io): void {
  const at = state.attempt ? whole.lastIndexOf(state.attempt) : -1;
  if (at >= 0) io.out(whole.slice(at + state.attempt.length));
  else io.out(state.attempt ? `${ARCHIVE_MARKER}\n${whole}` : whole);
  state.archived = whole.length;
}

/** readBuildLog that rides out a few failed reads in a row; undefined for a failed read. */
function reader(id: string, deps: LogDeps, io: Io): Read {
  let failures = 0;
  return async (offset) => {
    let log: BuildLog | undefined;
    try {
      log = await readBuildLog(id, deps, { offset });
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
