import type { PhaseDeps, PhaseReading } from "../builds/phase.js";
import { colourStatus } from "../util/format.js";
import type { Clients } from "./clients.js";
import type { Io } from "./io.js";

/** What reading a build's phase needs, from a person's clients (no cluster: the status only). */
export const phaseDeps = (clients: Clients): PhaseDeps => ({
  store: clients.store,
  cluster: clients.cluster,
  namespace: clients.config.namespace,
});

/**
 * One reading as a progress line, without the elapsed time:
 * "RUNNING team/api:1.0  building: RUN make  attempt 2". Without a phase
 * (no cluster access, or the cluster could not be read) the status only.
 */
export function progressLine(reading: PhaseReading | undefined, colour: boolean): string {
  if (!reading) return "waiting for the build record";
  const { record, phase } = reading;
  const head = `${colourStatus(record.status, colour)} ${record.repository}:${record.tag}`;
  const attempt = record.attempts > 1 ? `  attempt ${record.attempts}` : "";
  if (phase) return `${head}  ${phase.text}${attempt}`;
  const position = record.status === "QUEUED" && record.queuePosition ? `  queue position ${record.queuePosition}` : "";
  return `${head}${attempt}${position}`;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Where progress lines go: on a terminal one line redrawn under a spinner;
 * otherwise (CI, a pipe) a line each time it changes. Nothing when quiet (--json).
 */
export function progressPrinter(io: Io, quiet: boolean | undefined) {
  let tick = 0;
  let last: string | undefined;
  let warned = false;
  return {
    show(line: string, elapsed: string): void {
      if (quiet) return;
      if (io.interactive) io.progress(`\r\x1b[2K${SPINNER[tick++ % SPINNER.length]} ${line}  ${elapsed}`);
      else if (line !== last) io.progress(`${line}  ${elapsed}\n`);
      last = line;
    },
    /** A remark on a line of its own, the first time only (why the phase is not shown, say). */
    warnOnce(text: string): void {
      if (quiet || warned) return;
      warned = true;
      io.progress(`${io.interactive ? "\r\x1b[2K" : ""}(${text})\n`);
    },
    end(): void {
      if (!quiet && io.interactive) io.progress("\n");
    },
  };
}
