import { KubeConfig, Watch } from "@kubernetes/client-node";

/**
 * Jobs and pods as a watch delivers them: raw JSON, so times are RFC 3339
 * strings (whole seconds), not the client's Date objects.
 */
export interface ContainerState {
  running?: { startedAt?: string };
  terminated?: { startedAt?: string; finishedAt?: string; exitCode?: number };
}
export interface ContainerStatus {
  name: string;
  state?: ContainerState;
}
export interface WatchedPod {
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: { nodeName?: string };
  status?: { initContainerStatuses?: ContainerStatus[]; containerStatuses?: ContainerStatus[] };
}
interface WatchedJob {
  metadata?: { name?: string };
  spec?: { suspend?: boolean };
  status?: { conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
}

/** What this process saw happen to a build's Job and pod, each the first time it saw it. */
export type Stage = "job created" | "released" | "pod scheduled" | "kaniko running" | "complete" | "failed";

export interface Sighting {
  /** Client-clock milliseconds at which each stage was first seen on the watch. */
  seenAt: Partial<Record<Stage, number>>;
  /** The kaniko container's state.running.startedAt, when the watch showed it running (API time, whole seconds). */
  kanikoRunningStartedAt?: string;
  /** True if the watch never showed kaniko running, only already terminated. */
  kanikoSeenOnlyTerminated?: boolean;
  /** The Complete condition's lastTransitionTime (API time, whole seconds). */
  completeAt?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const jobOfPod = (pod: WatchedPod) =>
  pod.metadata?.labels?.["batch.kubernetes.io/job-name"] ?? pod.metadata?.labels?.["job-name"];
export const kanikoStatus = (pod: WatchedPod) => pod.status?.containerStatuses?.find((c) => c.name === "kaniko");

/**
 * Watches a namespace's Jobs and pods and notes, per Job, when each build
 * stage was first seen: push notifications from the API server, so the
 * moments are this machine's clock to the millisecond (the API's own
 * timestamps are whole seconds) at the cost of no polling load.
 */
export class BuildWatch {
  private readonly sightings = new Map<string, Sighting>();
  private readonly controllers: AbortController[] = [];
  private stopped = false;
  /** Times a watch ended on its own and was started again. */
  restarts = 0;

  private constructor(private readonly kc: KubeConfig) {}

  static async start(kubeconfig: string, namespace: string): Promise<BuildWatch> {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const watch = new BuildWatch(kc);
    await watch.follow(`/apis/batch/v1/namespaces/${namespace}/jobs`, (job: WatchedJob) => watch.onJob(job));
    await watch.follow(`/api/v1/namespaces/${namespace}/pods`, (pod: WatchedPod) => watch.onPod(pod));
    return watch;
  }

  of(job: string): Sighting {
    let sighting = this.sightings.get(job);
    if (!sighting) {
      sighting = { seenAt: {} };
      this.sightings.set(job, sighting);
    }
    return sighting;
  }

  /** Wait until the Job completed or failed; which one. */
  async finished(job: string, timeoutMs: number): Promise<"complete" | "failed"> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { seenAt } = this.of(job);
      if (seenAt.complete) return "complete";
      if (seenAt.failed) return "failed";
      if (Date.now() > deadline) throw new Error(`Job ${job} did not finish in ${timeoutMs / 1000} s`);
      await sleep(20);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const controller of this.controllers) controller.abort();
  }

  private async follow<T>(path: string, onObject: (object: T) => void): Promise<void> {
    const controller = await new Watch(this.kc).watch(
      path,
      {},
      (_phase: string, object: T) => onObject(object),
      () => {
        if (this.stopped) return;
        this.restarts += 1;
        void this.follow(path, onObject);
      },
    );
    this.controllers.push(controller);
  }

  private mark(job: string, stage: Stage): Sighting {
    const sighting = this.of(job);
    sighting.seenAt[stage] ??= Date.now();
    return sighting;
  }

  private onJob(job: WatchedJob): void {
    const name = job.metadata?.name;
    if (!name) return;
    const sighting = this.mark(name, "job created");
    // Created suspended, a queued build's Job is released when it is unsuspended (without a cap, at once).
    if (job.spec?.suspend === false) this.mark(name, "released");
    for (const condition of job.status?.conditions ?? []) {
      if (condition.status !== "True") continue;
      if (condition.type === "Complete") {
        this.mark(name, "complete");
        sighting.completeAt ??= condition.lastTransitionTime;
      }
      if (condition.type === "Failed") this.mark(name, "failed");
    }
  }

  private onPod(pod: WatchedPod): void {
    const job = jobOfPod(pod);
    if (!job) return;
    if (pod.spec?.nodeName) this.mark(job, "pod scheduled");
    const state = kanikoStatus(pod)?.state;
    if (!state?.running && !state?.terminated) return;
    const sighting = this.of(job);
    if (sighting.seenAt["kaniko running"] === undefined) {
      this.mark(job, "kaniko running");
      sighting.kanikoRunningStartedAt = state.running?.startedAt;
      sighting.kanikoSeenOnlyTerminated = !state.running;
    }
  }
}
