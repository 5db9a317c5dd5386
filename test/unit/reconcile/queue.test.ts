import { describe, expect, it } from "vitest";
import type { WireJob } from "../../../src/kube/wire.js";
import { planRelease } from "../../../src/reconcile/queue.js";

function job(
  name: string,
  options: { suspend?: boolean; queuedAt?: string; done?: "Complete" | "Failed"; deleting?: boolean } = {},
): WireJob {
  return {
    metadata: {
      name,
      creationTimestamp: "2026-11-24T10:00:00Z",
      annotations: options.queuedAt ? { "dropbuild.dev/queued-at": options.queuedAt } : {},
      deletionTimestamp: options.deleting ? "2026-11-24T10:05:00Z" : undefined,
    },
    spec: { suspend: options.suspend ?? false },
    status: {
      startTime: options.suspend ? undefined : "2026-11-24T10:00:00Z",
      conditions: options.done ? [{ type: options.done, status: "True" }] : [],
    },
  };
}

const names = (jobs: WireJob[]) => jobs.map((j) => j.metadata?.name);

describe("planRelease", () => {
  it("releases the oldest uploads first while the cap allows", () => {
    const plan = planRelease(
      [
        job("running"),
        job("c", { suspend: true, queuedAt: "2026-11-24T10:00:03.000Z" }),
        job("a", { suspend: true, queuedAt: "2026-11-24T10:00:01.000Z" }),
        job("b", { suspend: true, queuedAt: "2026-11-24T10:00:02.000Z" }),
      ],
      3,
    );
    expect(plan.active).toBe(1);
    expect(names(plan.release)).toEqual(["a", "b"]);
    expect(names(plan.waiting)).toEqual(["c"]);
  });

  it("does not count finished or deleted Jobs as running", () => {
    const plan = planRelease(
      [
        job("done", { done: "Complete" }),
        job("failed", { done: "Failed" }),
        job("gone", { deleting: true }),
        job("q", { suspend: true }),
      ],
      1,
    );
    expect(plan.active).toBe(0);
    expect(names(plan.release)).toEqual(["q"]);
  });

  it("releases nothing when the cap is full, and keeps the order for positions", () => {
    const plan = planRelease(
      [job("r1"), job("r2"), job("y", { suspend: true, queuedAt: "2" }), job("x", { suspend: true, queuedAt: "1" })],
      2,
    );
    expect(plan.release).toEqual([]);
    expect(names(plan.waiting)).toEqual(["x", "y"]);
  });
});
