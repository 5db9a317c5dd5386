import { describe, expect, it } from "vitest";
import { fifoViolations, passesFromLog, type QueuedJob } from "../../../bench/fifo.js";

const job = (name: string, queuedAt: string, createdAt: string, releasedAt?: string): QueuedJob => ({
  name,
  queuedAt: `2026-11-25T10:00:${queuedAt}Z`,
  createdAt: `2026-11-25T10:00:${createdAt}Z`,
  releasedAt: releasedAt && `2026-11-25T10:00:${releasedAt}Z`,
});
const pass = (start: string, end: string) => ({
  start: Date.parse(`2026-11-25T10:00:${start}Z`),
  end: Date.parse(`2026-11-25T10:00:${end}Z`),
});

describe("the end-to-end benchmark's FIFO check", () => {
  it("accepts releases in upload order", () => {
    const jobs = [job("a", "01.000", "01", "05.100"), job("b", "02.000", "02", "05.200"), job("c", "03.000", "03")];
    expect(fifoViolations(jobs, [pass("05.000", "05.500")])).toEqual([]);
  });

  it("flags a younger build released while an older one, visible to that run, kept waiting", () => {
    const jobs = [job("a", "01.000", "01", "09.100"), job("b", "02.000", "02", "05.200")];
    expect(fifoViolations(jobs, [pass("05.000", "05.500"), pass("09.000", "09.500")])).toEqual([
      "b (queued 2026-11-25T10:00:02.000Z) released before older a (queued 2026-11-25T10:00:01.000Z)",
    ]);
  });

  it("forgives an older Job that appeared only after the releasing run began listing", () => {
    const jobs = [job("a", "01.000", "05", "09.100"), job("b", "02.000", "02", "05.200")];
    expect(fifoViolations(jobs, [pass("05.000", "05.500"), pass("09.000", "09.500")])).toEqual([]);
  });

  it("reads runs from the reconcile log", () => {
    const log = `${JSON.stringify({ message: "reconcile run", timestamp: "2026-11-25T10:00:05.500Z", ms: 500 })}\n{"message":"reconc`;
    expect(passesFromLog(log)).toEqual([pass("05.000", "05.500")]);
  });
});
