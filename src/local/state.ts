import { existsSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "../../bed/paths.js";
import { isAlive } from "../../bed/processes.js";
import { writeJsonAtomically } from "../../bed/state.js";
import { type ToolEnvironment, toolEnvironment } from "../config.js";
import type { LocalState } from "./runtime.js";

/** Where `dropbuild local` keeps its state; DROPBUILD_LOCAL_DIR overrides. */
export function localDir(env: ToolEnvironment = toolEnvironment()): string {
  return env.localDir ?? join(repoRoot, ".bed", "local");
}

const stateFile = (dir: string) => join(dir, "local.json");

/** Is the process alive (an exited one nobody has reaped yet does not count)? */
export function processAlive(pid: number): boolean {
  return isAlive(pid);
}

/** The running local runtime, if any (a state file whose process is alive). */
export function readLocalState(dir: string): LocalState | undefined {
  const file = stateFile(dir);
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, "utf8")) as LocalState;
  return processAlive(state.pid) ? state : undefined;
}

/** Written atomically: `local up --detach` polls this file while the runtime writes it. */
export async function writeLocalState(state: LocalState): Promise<void> {
  await writeJsonAtomically(stateFile(state.stateDir), state);
}

export async function clearLocalState(dir: string): Promise<void> {
  await rm(stateFile(dir), { force: true });
}

/** `export NAME='value'` lines for a POSIX shell. */
export function shellExports(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => `export ${name}='${value.replaceAll("'", `'\\''`)}'`)
    .join("\n");
}
