import { describe, expect, it } from "vitest";
import { formatTable } from "../../../src/util/format.js";
import { recordFixture as record } from "../../support/record-fixture.js";

describe("the builds table", () => {
  it("shows a rejected upload by its key, with its reason on the line below", () => {
    const now = new Date("2026-11-25T10:01:00.000Z");
    const table = formatTable(
      [
        record("SUCCEEDED", {
          submittedAt: "2026-11-25T10:00:00.000Z",
          digest: `sha256:${"a".repeat(64)}`,
          durationSeconds: 12,
        }),
        record("REJECTED", {
          id: "fedcba9876543210",
          tag: "-",
          source: { bucket: "contexts", key: "contexts/team/api/with space.tar.gz" },
          reason: 'tag "with space" is not a valid tag',
          durationSeconds: 0,
        }),
      ],
      now,
      false,
    );

    const lines = table.split("\n");
    expect(lines[1]).toMatch(/^SUCCEEDED\s+team\/api:1\.0\s/);
    expect(lines[2]).toMatch(/^REJECTED\s+contexts\/team\/api\/with space\.tar\.gz\s.*fedcba9876543210$/);
    expect(lines[3]).toBe(`${" ".repeat("SUCCEEDED".length + 2)}tag "with space" is not a valid tag`);
    expect(lines).toHaveLength(4);
  });
});
