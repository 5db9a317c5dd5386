import type { Progress } from "../bed/build/progress.js";
import { FOOTPRINT_FILE, readFootprint } from "../bed/node/footprint.js";
import type { BedInfo } from "../bed/state.js";
import { bedUp } from "../bed/up.js";

/** How long to wait for another bed to give up the host's single real node, and how often to look. */
const WAIT_MS = 30 * 60_000;
const POLL_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nodeTaken = (error: unknown) => error instanceof Error && /a real node is already running/.test(error.message);

/**
 * Wait until no other bed holds the real node: its footprint file is gone
 * (one left by this very state directory is ours, and bedUp cleans it up).
 */
async function waitForFreeNode(stateDir: string, deadline: number, progress: Progress): Promise<void> {
  for (;;) {
    const footprint = readFootprint();
    if (!footprint || footprint.owner === stateDir) return;
    if (Date.now() > deadline) {
      throw new Error(`the real node stayed in use (${FOOTPRINT_FILE}, owner ${footprint.owner}) for 30 minutes`);
    }
    progress(`the real node is in use by the bed in ${footprint.owner}; looking again in ${POLL_MS / 1000} s`);
    await sleep(POLL_MS);
  }
}

/**
 * A bed with the real node, started once the host's node is free; if another
 * bed claims it between the look and the start, wait again (30 minutes in all).
 */
export async function bedWithRealNode(stateDir: string, progress: Progress): Promise<BedInfo> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    await waitForFreeNode(stateDir, deadline, progress);
    try {
      return await bedUp(stateDir, progress, { realNode: true });
    } catch (error: unknown) {
      if (!nodeTaken(error) || Date.now() > deadline) throw error;
      progress(`${(error as Error).message}; waiting`);
      await sleep(POLL_MS);
    }
  }
}
