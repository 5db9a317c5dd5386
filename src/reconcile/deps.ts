import type { BuildEvents } from "../aws/build-events.js";
import type { LogArchive } from "../aws/log-archive.js";
import type { CostPrices } from "../build/cost.js";
import type { ReconcileCluster } from "../kube/cluster.js";
import type { JobSettings } from "../kube/job.js";
import type { ManifestDigests } from "../registry/client.js";
import type { BuildLedger } from "../store/ports.js";
import type { ReconcileMemory } from "./memory.js";

export interface ReconcileSettings {
  namespace: string;
  pageSize: number;
  /** A QUEUED record with no Job after this long gets its Job (re)created. */
  queuedGraceSeconds: number;
  /** 0: no cap (and nothing to release). */
  maxConcurrentBuilds: number;
  job: JobSettings;
  /** What a vCPU-hour and a GiB-hour cost, for each record's estimate. */
  prices: CostPrices;
}

export interface ReconcileDeps {
  cluster: ReconcileCluster;
  store: BuildLedger;
  logs: LogArchive;
  events: BuildEvents;
  /** Asked for each destination's digest once a build succeeded; absent for simulated builds. */
  registry?: ManifestDigests;
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
   * Jobs this run could not settle, each with why (at most
   * MAX_FAILURES_REPORTED). One Job failing does not stop the others,
   * the queue or the sweep; the Job still holds its record finalizer, so the
   * next run tries it again.
   */
  failures: { buildId: string; error: string }[];
}

/** Leave this much time for the last write and the response. */
export const SAFETY_MS = 10_000;
/** Jobs settled (or queue positions written) at once. */
export const CONCURRENCY = 8;
export const MAX_FAILURES_REPORTED = 20;

/** A report of a run that has done nothing yet. */
export function emptyReport(): ReconcileReport {
  return {
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
}
