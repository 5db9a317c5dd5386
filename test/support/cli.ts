import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../../bed/paths.js";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the real `dropbuild` executable, as a person or script would. */
export function dropbuild(
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs = 600_000,
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(repoRoot, "bin", "dropbuild.mjs"), ...args],
      { env: { ...process.env, ...env, NO_COLOR: "1" }, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A `dropbuild` run watched as it goes: what it wrote, each piece with when it arrived. */
export interface CliStream {
  /** Every piece of output so far, in order. */
  chunks: { at: number; stream: "stdout" | "stderr"; text: string }[];
  /** When the output on `stream` first matched `pattern` (undefined: not yet). */
  firstMatch(stream: "stdout" | "stderr", pattern: RegExp): number | undefined;
  done: Promise<CliRun>;
}

/** Start the real `dropbuild` executable and keep each piece of its output with the time it came. */
export function dropbuildStream(
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs = 600_000,
): CliStream {
  const child = spawn(process.execPath, [join(repoRoot, "bin", "dropbuild.mjs"), ...args], {
    env: { ...process.env, ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: timeoutMs,
  });
  const chunks: CliStream["chunks"] = [];
  const text = (stream: "stdout" | "stderr") =>
    chunks
      .filter((c) => c.stream === stream)
      .map((c) => c.text)
      .join("");
  child.stdout
    .setEncoding("utf8")
    .on("data", (data: string) => chunks.push({ at: Date.now(), stream: "stdout", text: data }));
  child.stderr
    .setEncoding("utf8")
    .on("data", (data: string) => chunks.push({ at: Date.now(), stream: "stderr", text: data }));
  return {
    chunks,
    firstMatch(stream, pattern) {
      let seen = "";
      for (const chunk of chunks.filter((c) => c.stream === stream)) {
        seen += chunk.text;
        if (pattern.test(seen)) return chunk.at;
      }
      return undefined;
    },
    done: new Promise((resolve) => {
      child.on("close", (code) => resolve({ code: code ?? 1, stdout: text("stdout"), stderr: text("stderr") }));
    }),
  };
}
