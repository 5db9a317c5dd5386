import type { V1Job, V1Pod } from "@kubernetes/client-node";
import type { BuildEvents } from "../aws/build-events.js";
import type { LogArchive } from "../aws/log-archive.js";
import { type BuildRecord, STATUS_RANK, specOfRecord } from "../build/record.js";
import { failUnstartedBuild } from "../builds/fail-unstarted.js";
import { publishClaimed, publishOutcome } from "../builds/publish-outcome.js";
import { JobRefusedError, type ReconcileCluster } from "../kube/cluster.js";
import { type JobSettings, renderJob } from "../kube/job.js";
import type { BuildStore } from "../store/builds.js";
import { pool } from "../util/pool.js";
import { archiveLogs } from "./archive-logs.js";
import { type Decision, decide, jobFinished, mayNeedRecord } from "./lifecycle.js";
import { ReconcileMemory } from "./memory.js";
import { buildIdOf, durationSeconds, observe } from "./observe.js";
import { planRelease } from "./queue.js";

export interface ReconcileSettings {
  namespace: string;
  pageSize: number;
  /** A QUEUED record with no Job after this long gets its Job (re)created. */
  queuedGraceSeconds: number;
  /** 0: no cap (and nothing to release). */
  maxConcurrentBuilds: number;
  job: JobSettings;
}

export interface ReconcileDeps {
  cluster: ReconcileCluster;
  store: BuildStore;
  logs: LogArchive;
  events: BuildEvents;
  settings: ReconcileSettings;
  now: () => Date;
  /** Milliseconds left before the function must return (Lambda's remaining time). */
  remainingMs: () => number;
  /** Kept between runs of one warm reconciler; without it each run starts cold. */
  memory?: ReconcileMemory;
}

export interface ReconcileReport {
  jobsSeen: number;
  recordsUpdated: number;
  finalizersRemoved: number;
  eventsPublished: number;
  logsArchived: number;
  jobsRecreated: number;
  /** Lost Jobs the cluster refused to re-create for good: those builds were ended FAILED. */
  jobsRefused: number;
  /** Suspended Jobs released from the queue. */
  released: number;
  /** Jobs of cancelled builds still running (their cancel's deletion failed), deleted now. */
  cancelledJobsDeleted: number;
  /** True when the run stopped to stay inside its time; the next run carries on. */
  stoppedEarly: boolean;
  /**
   * Jobs this run could not settle, each with why ("<build id>: <error>", at
   * most MAX_FAILURES_REPORTED). One Job failing does not stop the others,
   * the queue or the sweep; the Job still holds its record finalizer, so the
   * next run tries it again.
   */
  failures: string[];
}

/** Leave this much time for the last write and the response. */
const SAFETY_MS = 10_000;
/** Jobs settled (or queue positions written) at once. */
const CONCURRENCY = 8;
const MAX_FAILURES_REPORTED = 20;

/**
 * One reconcile run: page through the build Jobs, move each record forward,
 * archive logs and publish the outcome before releasing the Job to TTL
 * cleanup, then re-create Jobs for builds stuck QUEUED without one.
 */
export async function reconcile(deps: ReconcileDeps): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    jobsSeen: 0,
    recordsUpdated: 0,
    finalizersRemoved: 0,
    eventsPublished: 0,
    logsArchived: 0,
    jobsRecreated: 0,
    jobsRefused: 0,
    released: 0,
    cancelledJobsDeleted: 0,
    stoppedEarly: false,
    failures: [],
  };
  const outOfTime = () => deps.remainingMs() < SAFETY_MS;
  const memory = deps.memory ?? new ReconcileMemory();
  const seen = new Set<string>();
  // Only unfinished Jobs matter to the queue; keeping finished ones would grow memory with the cluster's history.
  const unfinished: V1Job[] = [];
  let continueToken: string | undefined;
  do {
    if (outOfTime()) {
      report.stoppedEarly = true;
      return report;
    }
    const page = await deps.cluster.listJobs(
      deps.settings.namespace,
      deps.settings.job.deployment,
      deps.settings.pageSize,
      continueToken,
    );
    continueToken = page.continueToken;
    report.jobsSeen += page.jobs.length;
    for (const job of page.jobs) {
      const id = buildIdOf(job);
      if (id) seen.add(id);
    }
    unfinished.push(...page.jobs.filter((job) => !jobFinished(job)));
    const candidates = page.jobs.filter(mayNeedRecord);
    const records = await deps.store.getMany(candidates.map(buildIdOf).filter((id): id is string => Boolean(id)));
    // Pods are read only for the Jobs something is to be done for: a run where nothing changed writes nothing.
    const work = candidates.filter((job) => decide(job, records.get(buildIdOf(job) ?? "")).act !== "none");
    const pods = await deps.cluster.listPods(
      deps.settings.namespace,
      work.map((job) => buildIdOf(job) ?? "").filter(Boolean),
    );
    // Jobs are independent: settle a few at once (each is a handful of round trips).
    const settled = await pool(
      work,
      CONCURRENCY,
      async (job) => {
        const id = buildIdOf(job) ?? "";
        const own = pods.filter((pod) => pod.metadata?.labels?.["dropbuild.dev/build-id"] === id);
        try {
          await settle(job, own, records.get(id), deps, report);
        } catch (error: unknown) {
          if (report.failures.length < MAX_FAILURES_REPORTED) {
            report.failures.push(`${id}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      },
      outOfTime,
    );
    if (settled.length < work.length) {
      report.stoppedEarly = true;
      return report;
    }
  } while (continueToken);
  // The queue is only released on a run that saw every Job, so the count of running builds is true.
  if (deps.settings.maxConcurrentBuilds > 0 || unfinished.some((job) => job.spec?.suspend)) {
    await releaseQueue(unfinished, memory, deps, report);
  }
  await recreateMissingJobs(seen, memory, deps, report);
  return report;
}

/**
 * Release suspended Jobs, oldest upload first, while the cap allows, and
 * tell each waiting build its place. With Kueue (no cap configured) the
 * Jobs are left for Kueue to admit. Only positions that changed are
 * written; the records of waiting builds are read only when this
 * reconciler does not already know their position.
 */
async function releaseQueue(
  jobs: V1Job[],
  memory: ReconcileMemory,
  deps: ReconcileDeps,
  report: ReconcileReport,
): Promise<void> {
  if (deps.settings.maxConcurrentBuilds === 0) return;
  const plan = planRelease(jobs, deps.settings.maxConcurrentBuilds);
  // One at a time, oldest first, so builds start in upload order.
  for (const job of plan.release) {
    if (await deps.cluster.release(job, deps.now())) report.released += 1;
  }
  const waiting = plan.waiting
    .map((job, index) => ({ id: buildIdOf(job) ?? "", position: index + 1 }))
    .filter((entry) => entry.id);
  const known = new Map<string, number | undefined>();
  for (const { id } of waiting) if (memory.positions.has(id)) known.set(id, memory.positions.get(id));
  const unknown = waiting.filter(({ id }) => !known.has(id)).map(({ id }) => id);
  for (const [id, record] of await deps.store.getMany(unknown)) known.set(id, record.queuePosition);
  // Forget builds that stopped waiting; remember what the records say now.
  memory.positions.clear();
  for (const [id, position] of known) if (position !== undefined) memory.positions.set(id, position);
  const changed = waiting.filter(({ id, position }) => known.has(id) && known.get(id) !== position);
  await pool(changed, CONCURRENCY, async ({ id, position }) => {
    if (await deps.store.advance(id, "QUEUED", { queuePosition: position })) report.recordsUpdated += 1;
    // Also when the record moved on (started, cancelled): there is nothing to correct then.
    memory.positions.set(id, position);
  });
}

/**
 * Do what `decide` says for one Job. When a conditional write finds the
 * record moved on (another run, a cancel), decide again on what is stored.
 */
async function settle(
  job: V1Job,
  pods: V1Pod[],
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
  job: V1Job,
  pods: V1Pod[],
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
      return record ? recordOutcome(job, pods, record, deps, report) : true;
  }
}

/** Archive the logs, record the outcome (claiming its event in the same write), publish, release. */
async function recordOutcome(
  job: V1Job,
  pods: V1Pod[],
  record: BuildRecord,
  deps: ReconcileDeps,
  report: ReconcileReport,
): Promise<boolean> {
  const observation = observe(job, pods);
  const logs = await archiveLogs(deps.settings.namespace, pods, deps.cluster, deps.logs, record.id);
  if ("logLocation" in logs) report.logsArchived += 1;
  const startedAt = observation.startedAt ?? record.startedAt;
  const finishedAt = observation.finishedAt ?? deps.now().toISOString();
  const changes = {
    startedAt,
    finishedAt,
    durationSeconds: durationSeconds(startedAt, finishedAt),
    attempts: observation.attempts,
    digest: observation.digest,
    reason: observation.reason,
    // Whoever records the outcome also owns publishing it: no separate claim.
    eventClaimedAt: deps.now().toISOString(),
    ...logs,
  };
  const status = observation.status;
  if (status === "QUEUED" || status === "RUNNING") return true;
  if (!(await deps.store.advance(record.id, status, changes))) return false;
  report.recordsUpdated += 1;
  await publishClaimed({ ...record, ...changes, status, statusRank: STATUS_RANK[status] }, deps);
  await releaseToCleanup(job, deps, report);
  return true;
}

/** The outcome's event went out: count it and release the Job to TTL cleanup. */
async function releaseToCleanup(job: V1Job, deps: ReconcileDeps, report: ReconcileReport): Promise<void> {
  report.eventsPublished += 1;
  if (await deps.cluster.removeRecordFinalizer(job)) report.finalizersRemoved += 1;
}

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
async function recreateMissingJobs(
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
      const job = renderJob(
        {
          buildId: record.id,
          jobName: record.jobName,
          spec: specOfRecord(record),
          source: record.source,
          queuedAt: record.uploadedAt ?? record.submittedAt,
          suspend: deps.settings.maxConcurrentBuilds > 0 || Boolean(deps.settings.job.kueueQueueName),
        },
        deps.settings.job,
      );
      try {
        if ((await deps.cluster.createJob(job)) === "created") report.jobsRecreated += 1;
      } catch (error: unknown) {
        if (!(error instanceof JobRefusedError)) throw error;
        if (await failUnstartedBuild(deps.store, record.id, error, deps.now())) report.jobsRefused += 1;
      }
    }
  } while (cursor);
  memory.lastSweepMs = nowMs;
}
