import { describe, expect, it } from "vitest";
import type { BuildRecord, BuildStatus } from "../../../src/build/record.js";
import { RECORD_FINALIZER } from "../../../src/kube/job.js";
import type { WireJob } from "../../../src/kube/wire.js";
import { decide, mayNeedRecord } from "../../../src/reconcile/lifecycle.js";
import { recordFixture } from "../../support/record-fixture.js";

type JobState = "suspended" | "pending" | "running" | "complete" | "failed";

/** A build Job as the API server lists it, in one of the states a Job goes through. */
function job(state: JobState, options: { deleting?: boolean; finalizer?: boolean; failedPods?: number } = {}): WireJob {
  const conditions =
    state === "complete"
      ? [{ type: "Complete", status: "True" }]
      : state === "failed"
        ? [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }]
        : [];
  return {
    metadata: {
      name: "dropbuild-0123456789abcdef",
      labels: { "dropbuild.dev/build-id": "0123456789abcdef" },
      finalizers: options.finalizer === false ? [] : [RECORD_FINALIZER],
      deletionTimestamp: options.deleting ? "2026-11-25T10:05:00Z" : undefined,
    },
    spec: { suspend: state === "suspended" },
    status: {
      startTime: ["running", "complete", "failed"].includes(state) ? "2026-11-25T10:00:00Z" : undefined,
      active: state === "running" ? 1 : 0,
      failed: options.failedPods ?? (state === "failed" ? 3 : 0),
      succeeded: state === "complete" ? 1 : 0,
      conditions,
    },
  };
}

function record(status: BuildStatus, options: { attempts?: number; published?: boolean } = {}): BuildRecord {
  return recordFixture(status, {
    attempts: options.attempts ?? 0,
    eventPublishedAt: options.published ? "2026-11-25T10:06:00Z" : undefined,
  });
}

/** Every row of the transition table in src/reconcile/lifecycle.ts, and the cases around its edges. */
describe("the build lifecycle's decision", () => {
  it.each<[string, WireJob, BuildRecord | undefined, string]>([
    // No record (expired, or never written).
    ["a finished Job without a record, holding the finalizer", job("complete"), undefined, "release-orphan"],
    ["a finished Job without a record, already released", job("complete", { finalizer: false }), undefined, "none"],
    ["a running Job without a record", job("running"), undefined, "none"],
    // Waiting and starting.
    ["a suspended Job (queued under the cap)", job("suspended"), record("QUEUED"), "none"],
    ["a Job not started yet", job("pending"), record("QUEUED"), "none"],
    ["a QUEUED build whose Job runs", job("running"), record("QUEUED"), "mark-running"],
    ["a RUNNING build, same attempt", job("running"), record("RUNNING", { attempts: 1 }), "none"],
    [
      "a retry attempt (one pod failed, the next runs)",
      job("running", { failedPods: 1 }),
      record("RUNNING", { attempts: 1 }),
      "mark-running",
    ],
    // Outcomes.
    ["a RUNNING build whose Job completed", job("complete"), record("RUNNING", { attempts: 1 }), "record-outcome"],
    ["a QUEUED build whose Job failed before it was seen running", job("failed"), record("QUEUED"), "record-outcome"],
    [
      "a deleted Job with a live record",
      job("running", { deleting: true }),
      record("RUNNING", { attempts: 1 }),
      "record-outcome",
    ],
    // After the outcome.
    ["a cancelled record with a live Job", job("running"), record("CANCELLED"), "delete-job"],
    [
      "a cancelled record whose Job is being deleted",
      job("running", { deleting: true }),
      record("CANCELLED"),
      "publish-and-release",
    ],
    ["a recorded outcome whose event is not out", job("complete"), record("SUCCEEDED"), "publish-and-release"],
    [
      "a recorded and published outcome, Job still held",
      job("failed"),
      record("FAILED", { published: true }),
      "release",
    ],
    [
      "a finished Job without the finalizer, all done",
      job("complete", { finalizer: false }),
      record("SUCCEEDED", { published: true }),
      "none",
    ],
    ["a late RUNNING after SUCCEEDED", job("running"), record("SUCCEEDED", { published: true }), "none"],
    ["a late RUNNING after FAILED, event not out", job("running"), record("FAILED"), "none"],
  ])("%s → %s", (_name, theJob, theRecord, act) => {
    expect(decide(theJob, theRecord).act).toBe(act);
  });

  it("names the outcome to record from the Job: complete, failed, or deleted before it finished", () => {
    expect(decide(job("complete"), record("RUNNING"))).toEqual({ act: "record-outcome", status: "SUCCEEDED" });
    expect(decide(job("failed"), record("RUNNING"))).toEqual({ act: "record-outcome", status: "FAILED" });
    expect(decide(job("running", { deleting: true }), record("RUNNING"))).toEqual({
      act: "record-outcome",
      status: "CANCELLED",
    });
  });

  it("reads a record only for a Job in motion: not for a waiting one, nor a finished one already released", () => {
    expect(mayNeedRecord(job("suspended"))).toBe(false);
    expect(mayNeedRecord(job("complete", { finalizer: false }))).toBe(false);
    expect(mayNeedRecord(job("complete"))).toBe(true);
    expect(mayNeedRecord(job("running"))).toBe(true);
    expect(mayNeedRecord(job("pending"))).toBe(true);
  });
});
