import { execFile } from "node:child_process";
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
