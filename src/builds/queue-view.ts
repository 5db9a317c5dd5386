import type { BuildRecord } from "../build/record.js";
import type { ReconcileCluster } from "../kube/cluster.js";
import type { WireJob } from "../kube/wire.js";
import { jobFinished } from "../reconcile/lifecycle.js";
import { buildIdOf } from "../reconcile/observe.js";
import { planRelease } from "../reconcile/queue.js";
import type { BuildLedger } from "../store/ports.js";

/** A build holding a slot (its Job released), or one waiting for a slot. */
export interface QueueEntry {
  id: string;
  jobName: string;
  /** The build's record, when the table has it. */
  build?: BuildRecord;
}

export interface WaitingEntry extends QueueEntry {
  /** 1 starts first. */
  position: number;
  /** A slot is free for it: the next reconcile run releases it. */
  startsNext: boolean;
}

/** The queue as Kubernetes holds it: what runs against the cap, and what waits, in release order. */
export interface QueueView {
  /** At most this many builds run at once; 0 means no cap here (none, or Kueue admits the Jobs). */
  cap: number;
  running: QueueEntry[];
  waiting: WaitingEntry[];
}

export interface QueueViewDeps {
  cluster: Pick<ReconcileCluster, "listJobs">;
  store: Pick<BuildLedger, "getMany">;
  namespace: string;
  deployment: string;
  cap: number;
  pageSize?: number;
}

async function unfinishedJobs(deps: QueueViewDeps): Promise<WireJob[]> {
  const jobs: WireJob[] = [];
  let continueToken: string | undefined;
  do {
    const page = await deps.cluster.listJobs(deps.namespace, deps.deployment, deps.pageSize ?? 500, continueToken);
    jobs.push(...page.jobs.filter((job) => !jobFinished(job)));
    continueToken = page.continueToken;
  } while (continueToken);
  return jobs;
}

const entryOf = (job: WireJob, records: Map<string, BuildRecord>): QueueEntry => {
  const id = buildIdOf(job) ?? "";
  const build = records.get(id);
  return build ? { id, jobName: job.metadata?.name ?? "", build } : { id, jobName: job.metadata?.name ?? "" };
};

/**
 * Read the queue from the cluster, in the order the reconciler releases it
 * (planRelease: the one place that decides it), with each build's record.
 */
export async function readQueue(deps: QueueViewDeps): Promise<QueueView> {
  const jobs = await unfinishedJobs(deps);
  const plan = planRelease(jobs, deps.cap);
  const running = jobs.filter((job) => job.spec?.suspend !== true);
  const waiting = [...plan.release, ...plan.waiting];
  const ids = [...running, ...waiting].map((job) => buildIdOf(job)).filter((id): id is string => Boolean(id));
  const records = await deps.store.getMany(ids);
  return {
    cap: deps.cap,
    running: running.map((job) => entryOf(job, records)),
    waiting: waiting.map((job, index) => ({
      ...entryOf(job, records),
      position: index + 1,
      startsNext: deps.cap > 0 && index < plan.release.length,
    })),
  };
}

/** What the API and its queue page show: the queue, or why there is none (no cluster access). */
export async function readApiQueue(deps: {
  cluster?: ReconcileCluster;
  store: Pick<BuildLedger, "getMany">;
  namespace: string;
  deployment: string;
  maxConcurrentBuilds: number;
}): Promise<QueueView | string> {
  if (!deps.cluster) return "this API has no cluster access to read the queue";
  return readQueue({ ...deps, cluster: deps.cluster, cap: deps.maxConcurrentBuilds });
}
