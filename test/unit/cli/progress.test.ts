import { describe, expect, it } from "vitest";
import { progressLine } from "../../../src/cli/progress.js";
import { recordFixture } from "../../support/record-fixture.js";

describe("a `builds wait` progress line", () => {
  it("names the phase after the status and image, and a retry's attempt", () => {
    const record = recordFixture("RUNNING", { attempts: 2 });
    const phase = { phase: "building", step: "RUN make", text: "building: RUN make" } as const;
    expect(progressLine({ record, phase }, false)).toBe("RUNNING team/api:1.0  building: RUN make  attempt 2");
  });

  it("falls back to the status (and a queued build's position) when the cluster could not be read", () => {
    expect(progressLine({ record: recordFixture("RUNNING", { attempts: 1 }) }, false)).toBe("RUNNING team/api:1.0");
    const queued = recordFixture("QUEUED", { queuePosition: 3 });
    expect(progressLine({ record: queued, problem: "refused" }, false)).toBe("QUEUED team/api:1.0  queue position 3");
  });

  it("waits for a record that is not there yet", () => {
    expect(progressLine(undefined, false)).toBe("waiting for the build record");
  });

  it("colours the status on a terminal", () => {
    expect(progressLine({ record: recordFixture("FAILED") }, true)).toBe("\x1b[31mFAILED\x1b[0m team/api:1.0");
  });
});
