import { toolEnvironment } from "../config.js";
/** A failure meant for the person at the terminal: a message and an exit code, no stack. */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
    /** The command already printed its JSON answer. */
    readonly printed = false,
  ) {
    super(message);
  }
}

/** Where a command writes; tests hand in their own. */
export interface Io {
  out(text: string): void;
  json(value: unknown): void;
  /** Progress for people (stderr), never mixed into --json output. */
  progress(text: string): void;
  exitCode(code: number): void;
  colour: boolean;
  interactive: boolean;
}

export function processIo(): Io {
  const tty = Boolean(process.stderr.isTTY);
  return {
    out: (text) => process.stdout.write(text),
    json: (value) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    progress: (text) => process.stderr.write(text),
    exitCode: (code) => {
      process.exitCode = code;
    },
    colour: Boolean(process.stdout.isTTY) && !toolEnvironment().noColor,
    interactive: tty,
  };
}

/** Commander collector for a repeatable option. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Repeated `NAME=value` options (`--build-arg`, `--set`) as an object; a bad one names the flag. */
export function parsePairs(pairs: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new CliError(`${flag} "${pair}" must be NAME=value`, 64);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
