import type { BuildStatus } from "../build/record.js";
import { KANIKO_CONTAINER, LABELS } from "../kube/job.js";
import type { WireContainerStatus, WireJob, WirePod } from "../kube/wire.js";

/** What the cluster says about one build right now. */
export interface Observation {
  buildId: string;
  /** What a Job can say: never REJECTED or SKIPPED, which are decided before any Job exists. */
  status: Exclude<BuildStatus, "REJECTED" | "SKIPPED">;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  digest?: string;
  reason?: string;
  exitCode?: number;
}

const DIGEST = /sha256:[0-9a-f]{64}/;

function condition(job: WireJob, type: string) {
  return job.status?.conditions?.find((c) => c.type === type && c.status === "True");
}

/** The API server's RFC 3339 (second precision) as the records' ISO 8601 with milliseconds. */
const iso = (value: string | undefined) => (value ? new Date(value).toISOString() : undefined);

/** The build a Job or pod belongs to (its build-id label). */
export function buildIdOf(object: WireJob | WirePod): string | undefined {
  return object.metadata?.labels?.[LABELS.buildId];
}

/** Attempts as the Job controller counts them: every pod that ran, failed or succeeded. */
export function attemptsOf(job: WireJob): number {
  const s = job.status;
  return (s?.failed ?? 0) + (s?.succeeded ?? 0) + (s?.active ?? 0);
}

/**
 * The status a Job implies, from the Job alone (no pods): cheap enough to
 * compare with every record on every run. Only the final conditions count
 * (Complete, Failed): the interim SuccessCriteriaMet and FailureTarget come
 * before the Job controller has finished counting its pods.
 */
export function jobPhase(job: WireJob): Observation["status"] {
  if (condition(job, "Complete")) return "SUCCEEDED";
  if (condition(job, "Failed")) return "FAILED";
  if (job.metadata?.deletionTimestamp) return "CANCELLED";
  if (job.spec?.suspend) return "QUEUED";
  if (job.status?.startTime || (job.status?.active ?? 0) > 0) return "RUNNING";
  return "QUEUED";
}

function kanikoStatus(pod: WirePod): WireContainerStatus | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === KANIKO_CONTAINER) ?? pod.status?.containerStatuses?.[0];
}

/** Order a build's pods newest first: a retried build's current attempt leads. */
export const newestFirst = (a: WirePod, b: WirePod) =>
  new Date(b.metadata?.creationTimestamp ?? 0).getTime() - new Date(a.metadata?.creationTimestamp ?? 0).getTime();

/** The full observation of a Job with its pods: attempts, digest, failure reason and exit code. */
export function observe(job: WireJob, pods: WirePod[]): Observation {
  const buildId = buildIdOf(job) ?? "";
  const status = jobPhase(job);
  const observation: Observation = {
    buildId,
    status,
    attempts: Math.max(attemptsOf(job), pods.length),
    startedAt: iso(job.status?.startTime),
  };
  const sorted = [...pods].sort(newestFirst);
  if (status === "SUCCEEDED") {
    observation.finishedAt = iso(job.status?.completionTime ?? condition(job, "Complete")?.lastTransitionTime);
    const succeeded = sorted.find((p) => p.status?.phase === "Succeeded");
    const message = succeeded ? kanikoStatus(succeeded)?.state?.terminated?.message : undefined;
    observation.digest = message?.match(DIGEST)?.[0];
  } else if (status === "FAILED") {
    const failed = condition(job, "Failed");
    observation.finishedAt = iso(failed?.lastTransitionTime);
    const last = sorted.find((p) => kanikoStatus(p)?.state?.terminated);
    const terminated = last ? kanikoStatus(last)?.state?.terminated : undefined;
    observation.exitCode = terminated?.exitCode;
    const parts = [`${failed?.reason ?? "Failed"}: ${failed?.message ?? "the Job failed"}`];
    if (terminated) {
      const detail = terminated.message?.trim().split("\n").slice(-5).join("\n");
      parts.push(
        `last attempt exited ${terminated.exitCode} (${terminated.reason ?? "Error"})${detail ? `: ${detail}` : ""}`,
      );
    }
    observation.reason = parts.join("; ");
  } else if (status === "CANCELLED") {
    observation.finishedAt = iso(job.metadata?.deletionTimestamp);
    observation.reason = "the Job was deleted before it finished";
  }
  return observation;
}

export function durationSeconds(startedAt: string | undefined, finishedAt: string | undefined): number | undefined {
  if (!startedAt || !finishedAt) return undefined;
  return Math.max(0, Math.round((new Date(finishedAt).getTime() - new Date(startedAt).getTime()) / 1000));
}
