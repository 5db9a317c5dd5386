import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { stopRuntime } from "../../../src/cli/local.js";
import { processAlive } from "../../../src/local/state.js";

describe("dropbuild local down", () => {
  it("kills a runtime that ignores SIGTERM once the grace period is over, and says so", async () => {
    const stubborn = spawn(process.execPath, ["-e", "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], {
      stdio: "ignore",
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const pid = stubborn.pid ?? 0;

    const said = await stopRuntime(pid, 500);

    expect(said).toMatch(/did not stop within 0.5 s of SIGTERM; killed it \(SIGKILL\)/);
    expect(processAlive(pid)).toBe(false);
  });

  it("lets a runtime that stops on SIGTERM stop by itself", async () => {
    const polite = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    await new Promise((resolve) => setTimeout(resolve, 300));

    const said = await stopRuntime(polite.pid ?? 0, 5_000);

    expect(said).toMatch(/stopped$/);
  });
});
