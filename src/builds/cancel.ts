import type { BuildEvents } from "../aws/build-events.js";
import type { LogArchive } from "../aws/log-archive.js";
import { type BuildRecord, isTerminal } from "../build/record.js";
import type { ReconcileCluster } from "../kube/cluster.js";
import { archiveLogs } from "../reconcile/archive-logs.js";
import { durationSeconds } from "../reconcile/observe.js";
import type { BuildLedger } from "../store/ports.js";
import { publishOutcome } from "./publish-outcome.js";

export interface CancelDeps {
  store: BuildLedger;
  cluster: ReconcileCluster;
  logs: LogArchive;
  events: BuildEvents;
  namespace: string;
  now: () => Date;
}

export type CancelOutcome =
  | { outcome: "cancelled"; record: BuildRecord }
  | { outcome: "already-finished"; record: BuildRecord }
  | { outcome: "not-found" };

/**
 * Cancel a build: record CANCELLED first (conditionally, so a build that just
 * finished keeps its real outcome), keep what the builder logged, then delete
 * the Job with its pods. The Job's record finalizer is released by the
 * reconciler, which sees the record is already final. If the deletion
 * fails, the cancel fails; the record says CANCELLED, and the reconciler
 * (or the cancel, retried) deletes the Job: a cancelled build never runs on.
 */
export async function cancelBuild(id: string, deps: CancelDeps, by = "a user"): Promise<CancelOutcome> {
  const record = await deps.store.get(id);
  if (!record) return { outcome: "not-found" };
  if (isTerminal(record.status)) {
    // A cancel retried after its Job deletion failed: delete it now (the reconciler would, within a run).
    if (record.status === "CANCELLED" && record.jobName) await deps.cluster.deleteJob(deps.namespace, record.jobName);
    return { outcome: "already-finished", record };
  }

  const pods = await deps.cluster.listPods(deps.namespace, [id]);
  const logs = await archiveLogs(deps.namespace, pods, deps.cluster, deps.logs, id);
  const finishedAt = deps.now().toISOString();
  const moved = await deps.store.advance(id, "CANCELLED", {
    finishedAt,
    durationSeconds: durationSeconds(record.startedAt, finishedAt),
    reason: `cancelled by ${by}`,
    ...logs,
  });
  const stored = (await deps.store.get(id)) ?? record;
  if (!moved) return { outcome: "already-finished", record: stored };
  if (record.jobName) await deps.cluster.deleteJob(deps.namespace, record.jobName);
  await publishOutcome(stored, deps);
  return { outcome: "cancelled", record: (await deps.store.get(id)) ?? stored };
}
