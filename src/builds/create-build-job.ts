import { jobNameFor, type SourceObject } from "../build/identity.js";
import type { BuildSpec } from "../build/spec.js";
import { type BuildCluster, type CreateJobResult, JobRefusedError } from "../kube/cluster.js";
import { type JobSettings, renderJob, startsSuspended } from "../kube/job.js";
import type { BuildLedger } from "../store/ports.js";
import { type OutcomePublishing, publishOutcome } from "./publish-outcome.js";

export interface JobCreation extends OutcomePublishing {
  store: Pick<BuildLedger, "advance" | "get" | "claimEvent" | "markEventPublished">;
  cluster: BuildCluster;
  settings: { maxConcurrentBuilds: number; job: JobSettings };
}

/** The Job was created (or already there), or the cluster refused it for good and the build ended FAILED. */
export type JobCreated = { job: CreateJobResult } | { refused: string; ended: boolean };

/**
 * Create a recorded build's Job, as the trigger does first and the
 * reconciler's sweep again for a Job that was lost: the same name, so a Job
 * that exists already is a no-op; suspended when the queue or Kueue admits
 * it. A refusal for good (403, 422) ends the build (failUnstartedBuild);
 * anything worth retrying (cluster unreachable, 5xx, throttling) throws.
 */
export async function createBuildJob(
  build: { id: string; spec: BuildSpec; source: SourceObject; queuedAt: string },
  deps: JobCreation,
): Promise<JobCreated> {
  const { settings } = deps;
  const job = renderJob(
    {
      buildId: build.id,
      jobName: jobNameFor(build.id),
      spec: build.spec,
      source: build.source,
      queuedAt: build.queuedAt,
      suspend: startsSuspended(settings.maxConcurrentBuilds, settings.job),
    },
    settings.job,
  );
  try {
    return { job: await deps.cluster.createJob(job) };
  } catch (error: unknown) {
    if (!(error instanceof JobRefusedError)) throw error;
    return { refused: error.message, ended: await failUnstartedBuild(deps, build.id, error) };
  }
}

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
async function failUnstartedBuild(deps: JobCreation, id: string, refusal: JobRefusedError): Promise<boolean> {
  const moved = await deps.store.advance(id, "FAILED", {
    finishedAt: deps.now().toISOString(),
    reason: refusal.message,
  });
  if (!moved) return false;
  const record = await deps.store.get(id);
  if (record) await publishOutcome(record, deps);
  return true;
}
