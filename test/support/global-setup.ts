import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { stderrProgress } from "../../bed/build/progress.js";
import { repoRoot } from "../../bed/paths.js";
import type { BedInfo } from "../../bed/state.js";
import { bedDown, bedUp } from "../../bed/up.js";

declare module "vitest" {
  export interface ProvidedContext {
    bed: BedInfo;
  }
}

/** Start the bed once for the integration tests; stop it when they are done. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stateDir = join(repoRoot, ".bed", `vitest-${process.pid}`);
  const info = await bedUp(stateDir, stderrProgress);
  project.provide("bed", info);
  return async () => {
    await bedDown(stateDir);
    await rm(stateDir, { recursive: true, force: true });
  };
}
