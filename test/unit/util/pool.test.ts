import { describe, expect, it } from "vitest";
import { pool } from "../../../src/util/pool.js";

describe("pool", () => {
  it("keeps at most `limit` tasks running and returns results in item order", async () => {
    let running = 0;
    let peak = 0;
    const results = await pool([5, 1, 4, 2, 3], 2, async (n) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, n));
      running -= 1;
      return n * 10;
    });
    expect(peak).toBe(2);
    expect(results).toEqual([50, 10, 40, 20, 30]);
  });

  it("starts nothing more once told to stop, and says how many it started", async () => {
    const started: number[] = [];
    const results = await pool(
      [1, 2, 3, 4, 5, 6],
      2,
      async (n) => {
        started.push(n);
        return n;
      },
      () => started.length >= 3,
    );
    expect(started).toEqual([1, 2, 3]);
    expect(results).toEqual([1, 2, 3]);
  });
});
