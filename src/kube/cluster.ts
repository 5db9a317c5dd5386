import { ApiException, BatchV1Api, type V1Job } from "@kubernetes/client-node";
import type { ClusterConnector } from "./connect.js";

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

function describe(error: unknown): string {
  if (error instanceof ApiException) return `Kubernetes API answered ${error.code}`;
  if (error instanceof Error) return error.message;
  return String(error);
}

export class KubernetesBuildCluster implements BuildCluster {
  constructor(private readonly connect: ClusterConnector) {}

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
