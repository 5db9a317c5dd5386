import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { stderrProgress } from "../../bed/build/progress.js";
import { ensureDebianPackages } from "../../bed/build/system.js";
import { type HostState, readHostState } from "../../bed/node/host-state.js";
import { cacheDir, repoRoot } from "../../bed/paths.js";
import type { BedInfo } from "../../bed/state.js";
import { bedDown, bedUp } from "../../bed/up.js";

declare module "vitest" {
  export interface ProvidedContext {
    bed: BedInfo;
    /** The host as it was before the bed started, for the teardown test to compare against. */
    hostBefore: HostState;
  }
}

/** Markers of the bed's processes on the host: its binaries and its scripts. */
export const bedProcessMarkers = () => [cacheDir(), join(repoRoot, "bed")];

/**
 * Start the bed once for the integration tests; stop it when they are done.
 * The state directory is also put in the environment (DROPBUILD_TEST_BED_DIR),
 * so the lifecycle tests, which run after every other test, can take this bed
 * down themselves and check what it leaves.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stateDir = join(repoRoot, ".bed", `vitest-${process.pid}`);
  // The status page test drives headless Chromium: the README's test command brings it like the bed's own packages.
  await ensureDebianPackages(["chromium"], stderrProgress);
  const hostBefore = await readHostState(bedProcessMarkers());
  const info = await bedUp(stateDir, stderrProgress);
  project.provide("bed", info);
  project.provide("hostBefore", hostBefore);
  process.env.DROPBUILD_TEST_BED_DIR = stateDir;
  process.env.DROPBUILD_TEST_HOST_BEFORE = JSON.stringify(hostBefore);
  return async () => {
    await bedDown(stateDir);
    await rm(stateDir, { recursive: true, force: true });
  };
}
