import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { stderrProgress } from "../../bed/build/progress.js";
import { ensureDebianPackages } from "../../bed/build/system.js";
import { type HostState, readHostState } from "../../bed/node/host-state.js";
import { cacheDir, repoRoot } from "../../bed/paths.js";
import type { BedInfo } from "../../bed/state.js";
import { bedDown, bedUp } from "../../bed/up.js";
import { ALL_CAPABILITIES, anyExternal, type Capability, fullyExternal, targetSettings } from "./target.js";
import { describeTarget, type ExternalTarget, externalTarget } from "./target-setup.js";

declare module "vitest" {
  export interface ProvidedContext {
    bed: BedInfo;
    /** The host as it was before the bed started, for the teardown test to compare against. */
    hostBefore: HostState;
    /** What the target can do (everything, on the bed); see test/support/needs.ts. */
    capabilities: Capability[];
  }
}

/** Markers of the bed's processes on the host: its binaries and its scripts. */
export const bedProcessMarkers = () => [cacheDir(), join(repoRoot, "bed")];

/**
 * Start the bed once for the integration tests; stop it when they are done.
 * The state directory is also put in the environment (DROPBUILD_TEST_BED_DIR),
 * so the lifecycle tests, which run after every other test, can take this bed
 * down themselves and check what it leaves. With DROPBUILD_TEST_AWS_ENDPOINT
 * and DROPBUILD_TEST_KUBECONFIG both set, no bed is started: the tests run on
 * that target (test/support/target.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stateDir = join(repoRoot, ".bed", `vitest-${process.pid}`);
  const settings = targetSettings();
  // The status page test drives headless Chromium: the README's test command brings it like the bed's own packages.
  await ensureDebianPackages(["chromium"], stderrProgress);
  if (fullyExternal(settings)) {
    await mkdir(stateDir, { recursive: true });
    const removeCreated = onTarget(project, await externalTarget(settings, stateDir));
    return () => removeCreated().finally(() => rm(stateDir, { recursive: true, force: true }));
  }
  const hostBefore = await readHostState(bedProcessMarkers());
  const bedInfo = await bedUp(stateDir, stderrProgress);
  const teardownBed = async () => {
    await bedDown(stateDir);
    await rm(stateDir, { recursive: true, force: true });
  };
  project.provide("hostBefore", hostBefore);
  process.env.DROPBUILD_TEST_BED_DIR = stateDir;
  process.env.DROPBUILD_TEST_HOST_BEFORE = JSON.stringify(hostBefore);
  if (!anyExternal(settings)) {
    project.provide("bed", bedInfo);
    project.provide("capabilities", [...ALL_CAPABILITIES]);
    return teardownBed;
  }
  const target = await externalTarget(settings, stateDir, bedInfo).catch(async (error: unknown) => {
    await teardownBed();
    throw error;
  });
  const removeCreated = onTarget(project, target);
  return async () => {
    await removeCreated().finally(teardownBed);
  };
}

/** Provide the target to the tests; the returned teardown removes what the run created there, and checks it. */
function onTarget(project: TestProject, target: ExternalTarget): () => Promise<void> {
  project.provide("bed", target.info);
  project.provide("capabilities", target.capabilities);
  stderrProgress(describeTarget(target));
  return () => target.removeWhatTheRunCreated();
}
