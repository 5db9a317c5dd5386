import { specOfRecord } from "../build/record.js";
import { createBuildJob } from "../builds/create-build-job.js";
import { type ReconcileDeps, type ReconcileReport, SAFETY_MS } from "./deps.js";
import type { ReconcileMemory } from "./memory.js";

/**
 * A QUEUED record whose Job never appeared: the trigger crashed between its
 * two steps and was not retried. We re-create the Job (rather than fail the
 * build), so the upload is not lost; the Job name is the same, so a Job that
 * appears meanwhile makes this a no-op (409). A Job the cluster refuses for
 * good (403, 422) ends its build FAILED, so the sweep does not meet it again
 * on every run; other errors throw and the next run retries. The sweep reads
 * only ids and Job names, and a warm reconciler runs it at most every half
 * grace period: a lost Job comes back within 1.5 grace periods either way.
 */
export async function recreateMissingJobs(
  seen: Set<string>,
  memory: ReconcileMemory,
  deps: ReconcileDeps,
  report: ReconcileReport,
): Promise<void> {
  const nowMs = deps.now().getTime();
  const graceMs = deps.settings.queuedGraceSeconds * 1000;
  if (nowMs - memory.lastSweepMs < graceMs / 2) return;
  const cutoff = new Date(nowMs - graceMs).toISOString();
  let cursor: string | undefined;
  do {
    if (deps.remainingMs() < SAFETY_MS) return;
    const page = await deps.store.queuedBefore(cutoff, cursor);
    cursor = page.cursor;
    const missing = page.builds.filter((build) => build.jobName && !seen.has(build.id)).map((build) => build.id);
    for (const record of (await deps.store.getMany(missing)).values()) {
      if (record.status !== "QUEUED" || !record.jobName) continue;
      const created = await createBuildJob(
        {
          id: record.id,
          spec: specOfRecord(record),
          source: record.source,
          queuedAt: record.uploadedAt ?? record.submittedAt,
        },
        deps,
      );
      if ("job" in created && created.job === "created") report.jobsRecreated += 1;
      if ("refused" in created && created.ended) report.jobsRefused += 1;
    }
  } while (cursor);
  memory.lastSweepMs = nowMs;
}
