import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Job,
  type V1Pod,
} from "@kubernetes/client-node";
import type { ClusterConnector } from "./connect.js";
import { LABELS, labelValue, RECORD_FINALIZER } from "./job.js";

/** The cluster could not be reached or refused us; the invocation should fail and be retried. */
export class ClusterUnavailableError extends Error {
  override name = "ClusterUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export type CreateJobResult = "created" | "exists";

/** What the trigger needs from the cluster. */
export interface BuildCluster {
  createJob(job: V1Job): Promise<CreateJobResult>;
}

export interface JobPage {
  jobs: V1Job[];
  continueToken?: string;
}

/** What the reconciler, the queue and cancel need from the cluster. */
export interface ReconcileCluster extends BuildCluster {
  /** This deployment's build Jobs, one page at a time. */
  listJobs(namespace: string, deployment: string, limit: number, continueToken?: string): Promise<JobPage>;
  listPods(namespace: string, buildIds: string[]): Promise<V1Pod[]>;
  /** undefined when the pod or its log is gone. */
  podLog(namespace: string, pod: string, container: string): Promise<string | undefined>;
  /** Remove dropbuild.dev/record; true only for the call that actually removed it. */
  removeRecordFinalizer(job: V1Job): Promise<boolean>;
  /** Unsuspend a queued Job; false if it changed meanwhile. */
  release(job: V1Job): Promise<boolean>;
  /** Delete a Job and its pods; false if it was already gone. */
  deleteJob(namespace: string, name: string): Promise<boolean>;
}

function describe(error: unknown): string {
  if (error instanceof ApiException) return `Kubernetes API answered ${error.code}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

const JSON_PATCH = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

export class KubernetesBuildCluster implements ReconcileCluster {
  constructor(private readonly connect: ClusterConnector) {}

  private async call<T>(what: string, fn: (config: KubeConfig) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.connect());
    } catch (error: unknown) {
      if (error instanceof ApiException) throw error;
      throw new ClusterUnavailableError(`${what}: ${describe(error)}`, { cause: error });
    }
  }

  listJobs(namespace: string, deployment: string, limit: number, continueToken?: string): Promise<JobPage> {
    return this.call("could not list Jobs", async (config) => {
      const list = await config.makeApiClient(BatchV1Api).listNamespacedJob({
        namespace,
        labelSelector: `${LABELS.managedBy}=dropbuild,${LABELS.deployment}=${labelValue(deployment)}`,
        limit,
        _continue: continueToken,
      });
      return { jobs: list.items, continueToken: list.metadata?._continue || undefined };
    });
  }

  listPods(namespace: string, buildIds: string[]): Promise<V1Pod[]> {
    if (buildIds.length === 0) return Promise.resolve([]);
    return this.call("could not list pods", async (config) => {
      const list = await config.makeApiClient(CoreV1Api).listNamespacedPod({
        namespace,
        labelSelector: `${LABELS.buildId} in (${buildIds.join(",")})`,
      });
      return list.items;
    });
  }

  podLog(namespace: string, pod: string, container: string): Promise<string | undefined> {
    return this.call("could not read pod log", async (config) => {
      try {
        return await config.makeApiClient(CoreV1Api).readNamespacedPodLog({ name: pod, namespace, container });
      } catch (error: unknown) {
        if (error instanceof ApiException && (error.code === 404 || error.code === 400)) return undefined;
        throw error;
      }
    });
  }

  /**
   * A JSON patch guarded by the Job's resourceVersion: if two reconcilers race,
   * the second patch fails its test and only one removal happens.
   */
  removeRecordFinalizer(job: V1Job): Promise<boolean> {
    const index = job.metadata?.finalizers?.indexOf(RECORD_FINALIZER) ?? -1;
    if (index < 0 || !job.metadata?.name) return Promise.resolve(false);
    return this.call("could not remove the record finalizer", async (config) => {
      try {
        await config.makeApiClient(BatchV1Api).patchNamespacedJob(
          {
            name: job.metadata?.name ?? "",
            namespace: job.metadata?.namespace ?? "default",
            body: [
              { op: "test", path: "/metadata/resourceVersion", value: job.metadata?.resourceVersion },
              { op: "test", path: `/metadata/finalizers/${index}`, value: RECORD_FINALIZER },
              { op: "remove", path: `/metadata/finalizers/${index}` },
            ],
          },
          JSON_PATCH,
        );
        return true;
      } catch (error: unknown) {
        if (error instanceof ApiException && [404, 409, 422].includes(error.code)) return false;
        throw error;
      }
    });
  }

  release(job: V1Job): Promise<boolean> {
    return this.call("could not release a queued Job", async (config) => {
      try {
        await config.makeApiClient(BatchV1Api).patchNamespacedJob(
          {
            name: job.metadata?.name ?? "",
            namespace: job.metadata?.namespace ?? "default",
            body: [
              { op: "test", path: "/metadata/resourceVersion", value: job.metadata?.resourceVersion },
              { op: "replace", path: "/spec/suspend", value: false },
            ],
          },
          JSON_PATCH,
        );
        return true;
      } catch (error: unknown) {
        if (error instanceof ApiException && [404, 409, 422].includes(error.code)) return false;
        throw error;
      }
    });
  }

  deleteJob(namespace: string, name: string): Promise<boolean> {
    return this.call("could not delete the Job", async (config) => {
      try {
        // Foreground: the pods go first, so a cancelled build stops running.
        await config
          .makeApiClient(BatchV1Api)
          .deleteNamespacedJob({ name, namespace, propagationPolicy: "Foreground" });
        return true;
      } catch (error: unknown) {
        if (error instanceof ApiException && error.code === 404) return false;
        throw error;
      }
    });
  }

  /** Create the Job; one that already exists (409) counts as done, which makes retries safe. */
  async createJob(job: V1Job): Promise<CreateJobResult> {
    const namespace = job.metadata?.namespace ?? "default";
    try {
      const batch = (await this.connect()).makeApiClient(BatchV1Api);
      await batch.createNamespacedJob({ namespace, body: job });
      return "created";
    } catch (error: unknown) {
      if (error instanceof ApiException && error.code === 409) return "exists";
      throw new ClusterUnavailableError(`could not create Job ${job.metadata?.name}: ${describe(error)}`, {
        cause: error,
      });
    }
  }
}
