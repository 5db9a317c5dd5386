import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { withBuildLock } from "../../../bed/build/lock.js";

const quiet = () => {};

describe("the bed's build lock", () => {
  it("runs one build at a time: the second starts when the first is done", async () => {
    const cache = await mkdtemp(join(tmpdir(), "lock-"));
    const events: string[] = [];
    const build = (name: string) => async () => {
      events.push(`${name} start`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      events.push(`${name} end`);
    };
    const said: string[] = [];
    await Promise.all([
      withBuildLock(cache, quiet, build("first"), 10),
      withBuildLock(cache, (m) => said.push(m), build("second"), 10),
    ]);
    expect(events).toEqual(["first start", "first end", "second start", "second end"]);
    expect(said).toEqual([`waiting for another bed build (pid ${process.pid}) to finish`]);
    expect(existsSync(join(cache, "build.lock"))).toBe(false);
  });

  it("takes over the lock of a build that was killed, and releases it on failure too", async () => {
    const cache = await mkdtemp(join(tmpdir(), "lock-"));
    // No process has this pid (above the kernel's pid_max).
    await writeFile(join(cache, "build.lock"), "99999999");
    const ran = await withBuildLock(cache, quiet, async () => readFile(join(cache, "build.lock"), "utf8"), 10);
    expect(ran).toBe(String(process.pid));
    await expect(
      withBuildLock(cache, quiet, async () => {
        throw new Error("the build failed");
      }),
    ).rejects.toThrow("the build failed");
    expect(existsSync(join(cache, "build.lock"))).toBe(false);
  });
});
