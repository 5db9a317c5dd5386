import type { BuildEvents } from "../aws/build-events.js";
import type { BuildRecord } from "../build/record.js";
import type { BuildLedger } from "../store/ports.js";

export interface OutcomePublishing {
  store: Pick<BuildLedger, "claimEvent" | "markEventPublished">;
  events: BuildEvents;
  now: () => Date;
}

/**
 * Publish a terminal outcome whose claim the caller holds (the reconciler
 * claims in the same write that records the outcome), then remember it went
 * out. If publishing fails the claim goes stale and a later caller takes it:
 * every outcome is published at least once, and normally exactly once.
 */
export async function publishClaimed(record: BuildRecord, deps: OutcomePublishing): Promise<void> {
  await deps.events.publish(record);
  await deps.store.markEventPublished(record.id, deps.now().toISOString());
}

/**
 * Claim, publish, remember: the one way a recorded outcome's event goes out.
 * False when it was published already or another caller holds a fresh claim.
 */
export async function publishOutcome(record: BuildRecord, deps: OutcomePublishing): Promise<boolean> {
  if (!(await deps.store.claimEvent(record.id, deps.now()))) return false;
  await publishClaimed(record, deps);
  return true;
}
