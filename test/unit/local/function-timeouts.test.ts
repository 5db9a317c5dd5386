import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../../bed/paths.js";
import { InvocationTimeoutError, withTimeout } from "../../../src/local/async-invoker.js";
import { functionTimeouts } from "../../../src/local/function-timeouts.js";

describe("the local runtime's function timeouts", () => {
  it("are serverless.yml's, for every function", () => {
    const timeouts = functionTimeouts(readFileSync(join(repoRoot, "serverless.yml"), "utf8"));
    expect(Object.keys(timeouts).sort()).toEqual(["api", "nightly", "reconcile", "trigger"]);
    for (const seconds of Object.values(timeouts)) expect(seconds).toBeGreaterThan(0);
  });

  it("end an invocation that runs past them with Lambda's message, and let a quick one through", async () => {
    const never = new Promise<never>(() => {});
    await expect(withTimeout(never, 0.05)).rejects.toThrow(InvocationTimeoutError);
    await expect(withTimeout(never, 0.05)).rejects.toThrow("Task timed out after 0.05 seconds");
    await expect(withTimeout(Promise.resolve("done"), 1)).resolves.toBe("done");
  });
});
