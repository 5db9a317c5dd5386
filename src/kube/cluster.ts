import { STATUS_CODES } from "node:http";
import type { V1Job } from "@kubernetes/client-node";
import { errorMessage } from "../util/error-message.js";
import type { ClusterConnector } from "./connect.js";
import { ANNOTATIONS, LABELS, labelValue, RECORD_FINALIZER } from "./job.js";
import { type ClusterConnection, KubeApiError, kubeRequest, kubeWatch, type RestRequest } from "./rest.js";
import { slimMeta, type WireJob, type WireList, type WirePod } from "./wire.js";

/** The cluster could not be reached or refused us; the invocation should fail and be retried. */
export class ClusterUnavailableError extends Error {
  override name = "ClusterUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** What to check first, by status, when the cluster refuses a Job for good. */
const REFUSAL_HINTS: Record<number, string> = {
  400: "the Job made from this build's settings and metadata is malformed",
  401: "the cluster does not accept the functions' credentials (for EKS: the role's access entry)",
  403: "the functions' RBAC (infra/k8s) or an admission policy does not allow this Job",
  404: "the build namespace does not exist",
  422: "the Job made from this build's settings and metadata is invalid",
};

/**
 * The cluster refused a build's Job with an answer that would not change on
 * retry (see isPermanentStatus): the build cannot start, and retrying the
 * invocation would only park it in the dead-letter queue while its record
 * stays QUEUED. The message is the reason a person reads on the record.
 */
export class JobRefusedError extends Error {
  override name = "JobRefusedError";
  constructor(
    readonly code: number,
    apiMessage: string,
    options?: { cause?: unknown },
  ) {
    const hint = REFUSAL_HINTS[code];
    super(
      `the cluster refused the build's Job (${code} ${STATUS_CODES[code] ?? "error"}): ${apiMessage.slice(0, 500)}${hint ? ` (${hint})` : ""}`,
      options,
    );
  }
}

export type CreateJobResult = "created" | "exists";

/** What the trigger needs from the cluster. */
export interface BuildCluster {
  /** Throws JobRefusedError when the cluster refuses for good, ClusterUnavailableError when worth retrying. */
  createJob(job: V1Job): Promise<CreateJobResult>;
}

export interface JobPage {
  jobs: WireJob[];
  continueToken?: string;
  /** The list's resourceVersion: every page of one list is the same snapshot, and a watch from it misses nothing. */
  resourceVersion?: string;
}

/** A change to a build Job, as a watch delivers it. */
export type JobChange =
  | { type: "ADDED" | "MODIFIED" | "DELETED"; job: WireJob }
  /** Nothing changed up to here (the API server's bookmark): a new watch may start from it. */
  | { type: "BOOKMARK"; resourceVersion: string }
  /** The watch's starting point is too old for the API server (410 Gone): list again. */
  | { type: "EXPIRED" };

/** What the reconciler, the queue and cancel need from the cluster. */
export interface ReconcileCluster extends BuildCluster {
  /** This deployment's build Jobs, one page at a time. */
  listJobs(namespace: string, deployment: string, limit: number, continueToken?: string): Promise<JobPage>;
  /**
   * Changes to this deployment's build Jobs after `resourceVersion`, until
   * the API server ends the watch (after about `timeoutSeconds`) or `signal`
   * aborts it.
   */
  watchJobs(
    namespace: string,
    deployment: string,
    resourceVersion: string,
    options: { signal: AbortSignal; timeoutSeconds: number },
  ): AsyncIterable<JobChange>;
  listPods(namespace: string, buildIds: string[]): Promise<WirePod[]>;
  /** undefined when the pod or its log is gone. `tailLines`: only the log's last lines. */
  podLog(namespace: string, pod: string, container: string, options?: PodLogOptions): Promise<string | undefined>;
  /** Remove dropbuild.dev/record; true only for the call that actually removed it. */
  removeRecordFinalizer(job: WireJob): Promise<boolean>;
  /** Unsuspend a queued Job, noting when on the Job; false if it changed meanwhile. */
  release(job: WireJob, at: Date): Promise<boolean>;
  /** Delete a Job and its pods; false if it was already gone. */
  deleteJob(namespace: string, name: string): Promise<boolean>;
}

/**
 * What the kubelet answers for a container whose log went with it (a pod
 * being deleted): it has already answered 200 when it finds out, so the
 * reason arrives as the log's text.
 */
const KUBELET_LOG_GONE = /^unable to retrieve container logs for \S+\s*$/;

export interface PodLogOptions {
  /** Only this many of the log's last lines (a progress reader needs no more). */
  tailLines?: number;
}

const JSON_PATCH = "application/json-patch+json";

/**
 * What the reconciler reads of a listed Job: identity, labels, annotations,
 * finalizers, the suspend flag and status. The pod template and managed
 * fields (most of a Job's bytes) are dropped as soon as a page is parsed,
 * so a run over thousands of Jobs holds little memory.
 */
function slimJob(job: WireJob): WireJob {
  return { metadata: slimMeta(job.metadata), spec: { suspend: job.spec?.suspend }, status: job.status };
}

/**
 * Likewise for pods: their names, labels and container statuses only (the
 * init containers' too, which tell a build's progress before kaniko starts).
 */
function slimPod(pod: WirePod): WirePod {
  const status = pod.status;
  return {
    metadata: slimMeta(pod.metadata),
    status: {
      phase: status?.phase,
      initContainerStatuses: status?.initContainerStatuses,
      containerStatuses: status?.containerStatuses,
    },
  };
}

/** A Status, as a watch's ERROR event carries it. */
interface WireStatus {
  code?: number;
  message?: string;
}

/** This deployment's build Jobs and no one else's. */
const buildJobSelector = (deployment: string) =>
  `${LABELS.managedBy}=dropbuild,${LABELS.deployment}=${labelValue(deployment)}`;

const jobsPath = (namespace: string) => `/apis/batch/v1/namespaces/${encodeURIComponent(namespace)}/jobs`;

export class KubernetesBuildCluster implements ReconcileCluster {
  constructor(private readonly connect: ClusterConnector) {}

  /**
   * One REST call. API errors come back as KubeApiError (callers branch on the
   * code); anything else (refused, reset, TLS, timeout) is ClusterUnavailableError.
   */
  private async call<T>(what: string, req: RestRequest): Promise<T> {
    const connection = await this.connection(what);
    try {
      return await kubeRequest<T>(connection, req);
    } catch (error: unknown) {
      if (error instanceof KubeApiError) throw error;
      throw new ClusterUnavailableError(`${what}: ${errorMessage(error)}`, { cause: error });
    }
  }

  /** Where and how to reach the API server now; failing to find out is ClusterUnavailableError. */
  private async connection(what: string): Promise<ClusterConnection> {
    try {
      return await this.connect();
    } catch (error: unknown) {
      throw new ClusterUnavailableError(`${what}: ${errorMessage(error)}`, { cause: error });
    }
  }

  /** Run `fn`; the listed API error codes mean "no", anything else is thrown. */
  private async expecting<T>(codes: number[], no: T, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error: unknown) {
      if (error instanceof KubeApiError && codes.includes(error.code)) return no;
      throw error;
    }
  }

  /**
   * Create the Job; one that already exists (409) counts as done, which makes
   * retries safe. A permanent refusal is a JobRefusedError; anything else
   * (5xx, 429, timeouts, connection errors) a ClusterUnavailableError.
   */
  async createJob(job: V1Job): Promise<CreateJobResult> {
    const namespace = job.metadata?.namespace ?? "default";
    try {
      await this.call(`could not create Job ${job.metadata?.name}`, {
        method: "POST",
        path: jobsPath(namespace),
        body: job,
        statusOnly: true,
      });
      return "created";
    } catch (error: unknown) {
      if (error instanceof KubeApiError && error.code === 409) return "exists";
      if (error instanceof KubeApiError && error.permanent) {
        throw new JobRefusedError(error.code, error.apiMessage, { cause: error });
      }
      if (error instanceof ClusterUnavailableError) throw error;
      throw new ClusterUnavailableError(`could not create Job ${job.metadata?.name}: ${errorMessage(error)}`, {
        cause: error,
      });
    }
  }

  async listJobs(namespace: string, deployment: string, limit: number, continueToken?: string): Promise<JobPage> {
    const list = await this.call<WireList<WireJob>>("could not list Jobs", {
      method: "GET",
      path: jobsPath(namespace),
      query: { labelSelector: buildJobSelector(deployment), limit, continue: continueToken },
    });
    return {
      jobs: (list.items ?? []).map(slimJob),
      continueToken: list.metadata?.continue || undefined,
      resourceVersion: list.metadata?.resourceVersion,
    };
  }

  async *watchJobs(
    namespace: string,
    deployment: string,
    resourceVersion: string,
    options: { signal: AbortSignal; timeoutSeconds: number },
  ): AsyncGenerator<JobChange> {
    const connection = await this.connection("could not watch Jobs");
    const query = {
      labelSelector: buildJobSelector(deployment),
      resourceVersion,
      allowWatchBookmarks: "true",
      timeoutSeconds: options.timeoutSeconds,
    };
    try {
      for await (const event of kubeWatch<WireJob & WireStatus>(
        connection,
        jobsPath(namespace),
        query,
        options.signal,
      )) {
        if (event.type === "BOOKMARK") {
          const version = event.object.metadata?.resourceVersion;
          if (version) yield { type: "BOOKMARK", resourceVersion: version };
        } else if (event.type === "ERROR") {
          if (event.object.code === 410) {
            yield { type: "EXPIRED" };
            return;
          }
          throw new ClusterUnavailableError(
            `the Job watch ended with an error: ${event.object.message ?? "no message"}`,
          );
        } else {
          yield { type: event.type, job: slimJob(event.object) };
        }
      }
    } catch (error: unknown) {
      if (error instanceof KubeApiError && error.code === 410) {
        yield { type: "EXPIRED" };
        return;
      }
      if (error instanceof KubeApiError || error instanceof ClusterUnavailableError) throw error;
      throw new ClusterUnavailableError(`could not watch Jobs: ${errorMessage(error)}`, { cause: error });
    }
  }

  /** One key of a Secret (decoded) or ConfigMap in the namespace; undefined when the object or key is not there. */
  async configValue(
    kind: "secret" | "configmap",
    namespace: string,
    name: string,
    key: string,
  ): Promise<string | undefined> {
    const resource = kind === "secret" ? "secrets" : "configmaps";
    const object = await this.expecting([404], undefined, () =>
      this.call<{ data?: Record<string, string> }>(`could not read ${kind} ${name}`, {
        method: "GET",
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/${resource}/${encodeURIComponent(name)}`,
      }),
    );
    const value = object?.data?.[key];
    if (value === undefined) return undefined;
    return kind === "secret" ? Buffer.from(value, "base64").toString("utf8") : value;
  }

  async listPods(namespace: string, buildIds: string[]): Promise<WirePod[]> {
    if (buildIds.length === 0) return [];
    const list = await this.call<WireList<WirePod>>("could not list pods", {
      method: "GET",
      path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
      query: { labelSelector: `${LABELS.buildId} in (${buildIds.join(",")})` },
    });
    return (list.items ?? []).map(slimPod);
  }

  async podLog(
    namespace: string,
    pod: string,
    container: string,
    options: PodLogOptions = {},
  ): Promise<string | undefined> {
    const text = await this.expecting([400, 404], undefined, () =>
      this.call<string>("could not read pod log", {
        method: "GET",
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log`,
        query: { container, tailLines: options.tailLines },
        text: true,
      }),
    );
    return text !== undefined && KUBELET_LOG_GONE.test(text) ? undefined : text;
  }

  /** Remove the record finalizer; only the call that removed it gets true (racing reconcilers). */
  removeRecordFinalizer(job: WireJob): Promise<boolean> {
    return this.patchCurrent(job, (current) => {
      const index = current.metadata?.finalizers?.indexOf(RECORD_FINALIZER) ?? -1;
      if (index < 0 || !current.metadata?.name) return undefined;
      return [
        { op: "test", path: `/metadata/finalizers/${index}`, value: RECORD_FINALIZER },
        { op: "remove", path: `/metadata/finalizers/${index}` },
      ];
    });
  }

  /**
   * A JSON patch guarded by the Job's resourceVersion, so of two racing
   * reconcilers only one acts. A Job listed a moment ago has often merely
   * changed since (the Job controller writes its status, also while it is
   * deleted), so on a failed guard read it again and, if the patch still
   * applies (`operations` gives none when not), retry: otherwise the Job
   * would wait a whole run (a queued one while younger uploads went ahead).
   */
  private async patchCurrent(job: WireJob, operations: (current: WireJob) => unknown[] | undefined): Promise<boolean> {
    let current: WireJob | undefined = job;
    for (let attempt = 0; attempt < 3 && current; attempt += 1) {
      const patch = operations(current);
      if (!patch) return false;
      if (await this.patchJob(current, patch)) return true;
      current = await this.readJob(current);
    }
    return false;
  }

  private readJob(job: WireJob): Promise<WireJob | undefined> {
    const namespace = job.metadata?.namespace ?? "default";
    return this.expecting([404], undefined, () =>
      this.call<WireJob>("could not read the Job", {
        method: "GET",
        path: `${jobsPath(namespace)}/${encodeURIComponent(job.metadata?.name ?? "")}`,
      }),
    );
  }

  /** Unsuspend a queued Job (still waiting and not deleted), stamping when on the Job. */
  release(job: WireJob, at: Date): Promise<boolean> {
    const annotation = `/metadata/annotations/${ANNOTATIONS.releasedAt.replaceAll("~", "~0").replaceAll("/", "~1")}`;
    return this.patchCurrent(job, (current) => {
      if (!current.spec?.suspend || current.metadata?.deletionTimestamp) return undefined;
      return [
        { op: "replace", path: "/spec/suspend", value: false },
        current.metadata?.annotations
          ? { op: "add", path: annotation, value: at.toISOString() }
          : { op: "add", path: "/metadata/annotations", value: { [ANNOTATIONS.releasedAt]: at.toISOString() } },
      ];
    });
  }

  private patchJob(job: WireJob, operations: unknown[]): Promise<boolean> {
    const namespace = job.metadata?.namespace ?? "default";
    return this.expecting([404, 409, 422], false, async () => {
      await this.call("could not patch the Job", {
        method: "PATCH",
        path: `${jobsPath(namespace)}/${encodeURIComponent(job.metadata?.name ?? "")}`,
        contentType: JSON_PATCH,
        body: [{ op: "test", path: "/metadata/resourceVersion", value: job.metadata?.resourceVersion }, ...operations],
      });
      return true;
    });
  }

  deleteJob(namespace: string, name: string): Promise<boolean> {
    return this.expecting([404], false, async () => {
      // Foreground: the pods go first, so a cancelled build stops running.
      await this.call("could not delete the Job", {
        method: "DELETE",
        path: `${jobsPath(namespace)}/${encodeURIComponent(name)}`,
        body: { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Foreground" },
      });
      return true;
    });
  }
}
