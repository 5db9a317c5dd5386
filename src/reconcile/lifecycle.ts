import { type BuildRecord, isTerminal } from "../build/record.js";
import { RECORD_FINALIZER } from "../kube/job.js";
import type { WireJob } from "../kube/wire.js";
import { jobPhase } from "./observe.js";

/**
 * What the reconciler does next for one build Job, decided from the Job and
 * its record alone (pods only add detail to an outcome: attempts, digest,
 * reason). The one place that says how a build moves once its Job exists.
 *
 * | record                     | Job                                  | decision            |
 * | -------------------------- | ------------------------------------ | ------------------- |
 * | none                       | finished, holds the finalizer        | release-orphan      |
 * | none                       | anything else                        | none                |
 * | QUEUED or RUNNING          | suspended or not started             | none                |
 * | QUEUED, or RUNNING with    | running                              | mark-running        |
 * |   fewer attempts than now  |                                      |                     |
 * | RUNNING, same attempt      | running                              | none                |
 * | QUEUED or RUNNING          | complete / failed / being deleted    | record-outcome      |
 * | CANCELLED                  | running, not being deleted           | delete-job          |
 * | terminal, event not out    | finished or being deleted            | publish-and-release |
 * | terminal, event out        | finished or deleted, holds finalizer | release             |
 * | terminal                   | anything else (a late RUNNING, gone) | none                |
 */
export type Decision =
  | { act: "none" }
  /** A Job of ours whose record expired or was never written: do not hold it forever. */
  | { act: "release-orphan" }
  | { act: "mark-running" }
  /** Archive the logs, record the outcome (claiming its event), publish, release. */
  | { act: "record-outcome"; status: "SUCCEEDED" | "FAILED" | "CANCELLED" }
  /** A cancel recorded its intent but the Job still runs (its deletion failed): delete it. */
  | { act: "delete-job" }
  /** Recorded already (by another run, or a cancel): publish if nobody has, then release. */
  | { act: "publish-and-release" }
  | { act: "release" };

const NONE: Decision = { act: "none" };

export const holdsFinalizer = (job: WireJob) => job.metadata?.finalizers?.includes(RECORD_FINALIZER) ?? false;

/** Complete, Failed, or deleted before it finished. */
export const jobFinished = (job: WireJob) => ["SUCCEEDED", "FAILED", "CANCELLED"].includes(jobPhase(job));

/**
 * Whether a Job's record is worth reading at all, judged from the Job alone.
 * A waiting (suspended) Job has nothing to settle, and a finished Job that no
 * longer holds our finalizer was released after its outcome was recorded and
 * published (the finalizer is always removed last). So a run over a long
 * queue or many finished Jobs reads only the records of the builds in motion.
 */
export function mayNeedRecord(job: WireJob): boolean {
  if (jobFinished(job)) return holdsFinalizer(job);
  return !job.spec?.suspend;
}

/** The decision for one Job and its record; see the table above. */
export function decide(job: WireJob, record: BuildRecord | undefined): Decision {
  if (!record) return jobFinished(job) && holdsFinalizer(job) ? { act: "release-orphan" } : NONE;
  if (isTerminal(record.status)) return decideFinished(job, record);
  const phase = jobPhase(job);
  if (phase === "QUEUED") return NONE;
  if (phase === "RUNNING") {
    const attempt = (job.status?.failed ?? 0) + 1;
    return record.status !== "RUNNING" || attempt > record.attempts ? { act: "mark-running" } : NONE;
  }
  return { act: "record-outcome", status: phase };
}

function decideFinished(job: WireJob, record: BuildRecord): Decision {
  // A Job being deleted counts as finished (jobPhase: CANCELLED).
  if (!jobFinished(job)) return record.status === "CANCELLED" ? { act: "delete-job" } : NONE;
  if (!record.eventPublishedAt) return { act: "publish-and-release" };
  return holdsFinalizer(job) ? { act: "release" } : NONE;
}
