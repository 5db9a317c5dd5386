import type { JobRefusedError } from "../kube/cluster.js";
import type { BuildLedger } from "../store/ports.js";

/**
 * End a build whose Job the cluster refused for good (a JobRefusedError).
 * FAILED, not REJECTED: REJECTED says the upload itself was bad and never
 * queued; this upload passed every check and was recorded QUEUED, and it is
 * the cluster that will not run it (RBAC, an admission policy, settings that
 * make an invalid Job). Dashboards and alerts on FAILED then catch a
 * deployment problem, instead of counting it as users' bad input.
 * Conditional like every status write: a build cancelled meanwhile stays so.
 */
export function failUnstartedBuild(
  store: Pick<BuildLedger, "advance">,
  id: string,
  refusal: JobRefusedError,
  now: Date,
): Promise<boolean> {
  return store.advance(id, "FAILED", { finishedAt: now.toISOString(), reason: refusal.message });
}
