import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeJsonAtomically } from "../../../bed/state.js";

describe("writeJsonAtomically", () => {
  const dir = mkdtempSync(join(tmpdir(), "dropbuild-state-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("replaces the file whole and leaves no partial file beside it", async () => {
    const file = join(dir, "local.json");
    await writeJsonAtomically(file, { pid: 1, big: "x".repeat(200_000) });
    await writeJsonAtomically(file, { pid: 2 });

    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual({ pid: 2 });
    expect(readdirSync(dir)).toEqual(["local.json"]);
  });
});
