import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called for each line the command writes (stdout and stderr). */
  onLine?: (line: string) => void;
}

export class CommandFailedError extends Error {
  override name = "CommandFailedError";
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly output: string,
  ) {
    super(`${command} exited with ${exitCode ?? "a signal"}:\n${output.slice(-4000)}`);
  }
}

/**
 * Run a command to completion. Resolves with its stdout; on failure the error
 * keeps the tail of both streams so the cause is visible.
 */
export function runCommand(file: string, args: string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    const stdout: string[] = [];
    const collect = (line: string) => {
      lines.push(line);
      if (lines.length > 400) lines.shift();
      options.onLine?.(line);
    };
    createInterface({ input: child.stdout }).on("line", (line) => {
      stdout.push(line);
      collect(line);
    });
    createInterface({ input: child.stderr }).on("line", collect);
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolvePromise(stdout.join("\n"));
      else reject(new CommandFailedError(`${file} ${args.join(" ")}`, code, lines.join("\n")));
    });
  });
}
