import { rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type HostState, leftovers, readHostState } from "../../bed/node/host-state.js";
import { repoRoot } from "../../bed/paths.js";
import { isAlive } from "../../bed/processes.js";
import { readState } from "../../bed/state.js";
import { bedDown, bedUp } from "../../bed/up.js";
import { eventually } from "../support/bed.js";
import { bedProcessMarkers } from "../support/global-setup.js";

/**
 * Runs after every other test (vitest groupOrder): takes the test run's bed
 * down and checks the host against how it was before the bed started; then
 * kills a bed outright and checks that the next bed:up survives its leftovers.
 */
const hostBefore = JSON.parse(process.env.DROPBUILD_TEST_HOST_BEFORE ?? "null") as HostState | null;
const sharedBed = process.env.DROPBUILD_TEST_BED_DIR;
const quiet = () => {};

describe("bed:down", () => {
  it("leaves no process, mount, bridge, iptables rule, cgroup or sysctl change behind", async () => {
    if (!hostBefore || !sharedBed) throw new Error("run through the integration global setup (npm test)");
    expect(readState(sharedBed)?.info?.node, "the shared bed ran a real node").toBeDefined();
    await bedDown(sharedBed);
    expect(leftovers(hostBefore, await readHostState(bedProcessMarkers()))).toEqual({});
  });

  it("starts a new bed over the leftovers of one that was killed, and then leaves nothing", async () => {
    if (!hostBefore) throw new Error("run through the integration global setup (npm test)");
    const killed = join(repoRoot, ".bed", `lifecycle-killed-${process.pid}`);
    const next = join(repoRoot, ".bed", `lifecycle-next-${process.pid}`);
    try {
      await bedUp(killed, quiet);
      // As if the machine's OOM killer or a kill -9 took every process of the bed: nothing gets to clean up.
      const daemons = readState(killed)?.daemons ?? [];
      for (const daemon of daemons) {
        try {
          process.kill(-daemon.pid, "SIGKILL");
        } catch {
          // gone
        }
      }
      await eventually("the killed bed's processes gone", async () =>
        daemons.every((d) => !isAlive(d.pid)) ? true : undefined,
      );
      const info = await bedUp(next, quiet);
      expect(info.node?.name).toBe("dropbuild-node");
      await bedDown(next);
      await bedDown(killed);
      expect(leftovers(hostBefore, await readHostState(bedProcessMarkers()))).toEqual({});
    } finally {
      // Never hide the test's own failure behind a cleanup error.
      await bedDown(next).catch(() => undefined);
      await rm(killed, { recursive: true, force: true }).catch(() => undefined);
      await rm(next, { recursive: true, force: true }).catch(() => undefined);
    }
  });
});
