import { inject } from "vitest";
import type { Capability } from "./target.js";

/**
 * True when the target lacks `capability`: for `describe.skipIf` / `it.skipIf`.
 * Says so in the run's output, with `reason` (what the tests need it for), so a
 * skipped test is never silent. On the bed every capability is present.
 */
export function lacks(capability: Capability, reason: string): boolean {
  const missing = !inject("capabilities").includes(capability);
  if (missing) console.warn(`skipped (the target lacks ${capability}): ${reason}`);
  return missing;
}
