import { ANNOTATIONS } from "../kube/job.js";
import type { WireJob } from "../kube/wire.js";
import { jobFinished } from "./lifecycle.js";

export interface ReleasePlan {
  /** Suspended Jobs to release now, oldest first. */
  release: WireJob[];
  /** Suspended Jobs that keep waiting, in queue order (position 1 first). */
  waiting: WireJob[];
  /** Jobs running (unsuspended and unfinished). */
  active: number;
}

const queuedAt = (job: WireJob) =>
  job.metadata?.annotations?.[ANNOTATIONS.queuedAt] ?? new Date(job.metadata?.creationTimestamp ?? 0).toISOString();

/**
 * The build queue lives in Kubernetes: suspended Jobs wait, oldest upload
 * first. Given every build Job and the cap, which to release now. Pure, so
 * the order rules are tested on their own.
 */
export function planRelease(jobs: WireJob[], cap: number): ReleasePlan {
  const unfinished = jobs.filter((job) => !jobFinished(job));
  const suspended = unfinished
    .filter((job) => job.spec?.suspend === true)
    .sort(
      (a, b) =>
        queuedAt(a).localeCompare(queuedAt(b)) || (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""),
    );
  const active = unfinished.length - suspended.length;
  const capacity = cap > 0 ? Math.max(0, cap - active) : suspended.length;
  return { release: suspended.slice(0, capacity), waiting: suspended.slice(capacity), active };
}
