import type { JobRefusedError } from "../kube/cluster.js";
import type { BuildLedger } from "../store/ports.js";
import { type OutcomePublishing, publishOutcome } from "./publish-outcome.js";

/**
 * End a build whose Job the cluster refused for good (a JobRefusedError),
 * and publish that outcome. FAILED, not REJECTED: REJECTED says the upload
 * itself was bad and never queued; this upload passed every check and was
 * recorded QUEUED, and it is the cluster that will not run it (RBAC, an
 * admission policy, settings that make an invalid Job). Dashboards and
 * alerts on FAILED then catch a deployment problem, instead of counting it
 * as users' bad input. Conditional like every status write: a build
 * cancelled meanwhile stays so. True when this call ended it.
 */
export async function failUnstartedBuild(
  deps: OutcomePublishing & { store: Pick<BuildLedger, "advance" | "get"> },
  id: string,
  refusal: JobRefusedError,
): Promise<boolean> {
  const moved = await deps.store.advance(id, "FAILED", {
    finishedAt: deps.now().toISOString(),
    reason: refusal.message,
  });
  if (!moved) return false;
  const record = await deps.store.get(id);
  if (record) await publishOutcome(record, deps);
  return true;
}
