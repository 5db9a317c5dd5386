import { buildCost } from "../build/cost.js";
import { pinnedImage } from "../build/provenance.js";
import { type BuildRecord, STATUS_RANK } from "../build/record.js";
import { publishClaimed, publishOutcome } from "../builds/publish-outcome.js";
import { renderWarmJob } from "../kube/job.js";
import type { WireJob, WirePod } from "../kube/wire.js";
import { archiveLogs } from "./archive-logs.js";
import type { ReconcileDeps, ReconcileReport } from "./deps.js";
import { type Decision, decide } from "./lifecycle.js";
import { buildIdOf, durationSeconds, observe } from "./observe.js";
import { outputDigests } from "./outputs.js";

/**
 * Do what `decide` says for one Job. When a conditional write finds the
 * record moved on (another run, a cancel), decide again on what is stored.
 */
export async function settle(
  job: WireJob,
  pods: WirePod[],
  record: BuildRecord | undefined,
  deps: ReconcileDeps,
  report: ReconcileReport,
): Promise<void> {
  let current = record;
  for (let round = 0; round < 2; round += 1) {
    if (await execute(decide(job, current), job, pods, current, deps, report)) return;
    current = await deps.store.get(buildIdOf(job) ?? "");
  }
}

/** Carry out one decision; false when the record moved on meanwhile. */
async function execute(
  decision: Decision,
  job: WireJob,
  pods: WirePod[],
  record: BuildRecord | undefined,
  deps: ReconcileDeps,
  report: ReconcileReport,
): Promise<boolean> {
  switch (decision.act) {
    case "none":
      return true;
    case "release-orphan":
    case "release":
      if (await deps.cluster.removeRecordFinalizer(job)) report.finalizersRemoved += 1;
      return true;
    case "delete-job":
      if (await deps.cluster.deleteJob(deps.settings.namespace, job.metadata?.name ?? ""))
        report.cancelledJobsDeleted += 1;
      // Its pods go first (foreground); a later run publishes the outcome and releases the Job.
      return true;
    case "publish-and-release":
      // Another run may hold a fresh claim: then the Job stays held until its event is out (a dead
      // publisher's claim goes stale and a later run takes it).
      if (record && (await publishOutcome(record, deps))) await releaseToCleanup(job, deps, report);
      return true;
    case "mark-running": {
      const observation = observe(job, pods);
      const moved = await deps.store.advance(buildIdOf(job) ?? "", "RUNNING", {
        startedAt: observation.startedAt,
        attempts: Math.max(observation.attempts, 1),
      });
      if (moved) report.recordsUpdated += 1;
      return true;
    }
    case "record-outcome":
      return record ? recordOutcome(decision.status, job, pods, record, deps, report) : true;
  }
}

/** Archive the logs, record the outcome (claiming its event in the same write), publish, release. */
async function recordOutcome(
  status: Extract<Decision, { act: "record-outcome" }>["status"],
  job: WireJob,
  pods: WirePod[],
  record: BuildRecord,
  deps: ReconcileDeps,
  report: ReconcileReport,
): Promise<boolean> {
  const observation = observe(job, pods);
  const logs = await archiveLogs(deps.settings.namespace, pods, deps.cluster, deps.logs, record.id);
  if ("logLocation" in logs) report.logsArchived += 1;
  const startedAt = observation.startedAt ?? record.startedAt;
  const finishedAt = observation.finishedAt ?? deps.now().toISOString();
  const seconds = durationSeconds(startedAt, finishedAt);
  const changes = {
    startedAt,
    finishedAt,
    durationSeconds: seconds,
    // Only a build whose pod ran has a cost; requests come from the record, as the Job was made.
    cost:
      record.requests && observation.startedAt && seconds !== undefined
        ? buildCost(record.requests, seconds, deps.settings.prices)
        : undefined,
    attempts: observation.attempts,
    digest: observation.digest,
    reason: observation.reason,
    // Whoever records the outcome also owns publishing it: no separate claim.
    eventClaimedAt: deps.now().toISOString(),
    ...logs,
    ...(await provenanceWithOutputs(status, record, deps)),
  };
  if (!(await deps.store.advance(record.id, status, changes))) return false;
  report.recordsUpdated += 1;
  await publishClaimed({ ...record, ...changes, status, statusRank: STATUS_RANK[status] }, deps);
  await releaseToCleanup(job, deps, report);
  if (status === "SUCCEEDED") await warmBaseImages(record, deps);
  return true;
}

/**
 * After a success, have its base images (by the digests it was built from)
 * fetched into the workspace's shared cache, for the next build on them on
 * any node. Best effort: the outcome is recorded already, and a build that
 * finds no cached image pulls it from the registry as before.
 */
async function warmBaseImages(record: BuildRecord, deps: ReconcileDeps): Promise<void> {
  const images = (record.provenance?.stages ?? []).flatMap((stage) => pinnedImage(stage) ?? []);
  const job = renderWarmJob(images, deps.settings.job);
  if (!job) return;
  try {
    await deps.cluster.createJob(job);
  } catch {
    // A cache left cold costs the next build a pull, nothing more.
  }
}

/** A succeeded build's provenance gains the digests the registry serves for its destinations. */
async function provenanceWithOutputs(
  status: BuildRecord["status"],
  record: BuildRecord,
  deps: ReconcileDeps,
): Promise<Pick<BuildRecord, "provenance">> {
  if (status !== "SUCCEEDED" || !record.provenance || !deps.registry) return {};
  return { provenance: { ...record.provenance, outputs: await outputDigests(record, deps.registry) } };
}

/** The outcome's event went out: count it and release the Job to TTL cleanup. */
async function releaseToCleanup(job: WireJob, deps: ReconcileDeps, report: ReconcileReport): Promise<void> {
  report.eventsPublished += 1;
  if (await deps.cluster.removeRecordFinalizer(job)) report.finalizersRemoved += 1;
}
