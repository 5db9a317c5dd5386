import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Progress } from "./progress.js";

/** Whether a process with this pid runs (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Run `fn` holding the bed cache's build lock: two builds at once (a test
 * run's global setup and a `bed:build`, say) would build into the same
 * directories and rename each other's work away. A lock whose holder is gone
 * (killed) is taken over.
 */
export async function withBuildLock<T>(
  cache: string,
  progress: Progress,
  fn: () => Promise<T>,
  pollMs = 1000,
): Promise<T> {
  const lock = join(cache, "build.lock");
  const mine = String(process.pid);
  let told = false;
  for (;;) {
    try {
      await writeFile(lock, mine, { flag: "wx" });
      break;
    } catch (error: unknown) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number((await readFile(lock, "utf8").catch(() => "")).trim());
    if (holder && alive(holder)) {
      if (!told) progress(`waiting for another bed build (pid ${holder}) to finish`);
      told = true;
      await sleep(pollMs);
    } else {
      // Killed mid-build (or it died between creating the file and writing its pid): take it over.
      await rm(lock, { force: true });
      if (!holder) await sleep(pollMs);
    }
  }
  try {
    return await fn();
  } finally {
    if ((await readFile(lock, "utf8").catch(() => "")) === mine) await rm(lock, { force: true });
  }
}
