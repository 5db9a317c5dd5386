import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import { BatchV1Api, KubeConfig, type V1Job } from "@kubernetes/client-node";
import type { S3Event } from "aws-lambda";
import { repoRoot } from "../bed/paths.js";
import type { BedInfo } from "../bed/state.js";
import { type Config, loadConfig } from "../src/config.js";
import { startAsyncInvoker } from "../src/local/async-invoker.js";
import { applyInfra, ensureBuildsTable, ensureContextsBucket } from "../src/local/provision.js";
import type { Logger } from "../src/log.js";
import { createTriggerHandler } from "../src/trigger/handler.js";
import type { UploadNotice } from "../src/trigger/submit-upload.js";
import { functionDeps, makeConnector } from "../src/wiring.js";
import { gzip, sampleContext } from "../test/support/tar.js";

let counter = 0;
export const benchName = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${++counter}`;

/** Every Job in a namespace (of a label selector, if given), read 500 at a time with an admin kubeconfig. */
export async function* allJobs(kubeconfig: string, namespace: string, labelSelector?: string): AsyncGenerator<V1Job> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const batch = kc.makeApiClient(BatchV1Api);
  let _continue: string | undefined;
  do {
    const page = await batch.listNamespacedJob({ namespace, labelSelector, limit: 500, _continue });
    yield* page.items;
    _continue = page.metadata?._continue || undefined;
  } while (_continue);
}

export function adminAws(bed: BedInfo) {
  return {
    region: bed.aws.region,
    endpoint: bed.aws.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: bed.aws.accessKeyId, secretAccessKey: bed.aws.secretAccessKey },
  };
}

/** The functions' configuration and their wired collaborators for a bench deployment, as its functions' identity. */
export function benchWiring(bed: BedInfo, bucket: string, table: string, env: Record<string, string> = {}) {
  const config: Config = loadConfig({
    AWS_REGION: bed.aws.region,
    AWS_ENDPOINT_URL: bed.aws.endpoint,
    BUILDS_TABLE: table,
    CONTEXTS_BUCKET: bucket,
    CLUSTER_NAME: bed.cluster.name,
    REGISTRY: "registry.bench.local:5000",
    SIMULATED_BUILDS: "true",
    ...env,
  });
  const identity = bed.identities.functions;
  const credentials = { accessKeyId: identity?.accessKeyId ?? "", secretAccessKey: identity?.secretAccessKey ?? "" };
  return { config, credentials, wired: functionDeps(config, credentials) };
}

/** A deployment on the bench bed: its own bucket and table, the functions' identity, infra/k8s applied. */
export async function benchDeployment(bed: BedInfo, env: Record<string, string> = {}) {
  const bucket = benchName("contexts");
  const table = benchName("builds");
  const aws = adminAws(bed);
  await ensureBuildsTable(new DynamoDBClient(aws), table);
  const { queueUrl } = await ensureContextsBucket(new S3Client(aws), new SQSClient(aws), bucket, benchName("uploads"));
  await applyInfra(bed.kubectl, bed.kubeconfigs.admin, join(repoRoot, "infra", "k8s", "overlays", "local"));
  const { config, credentials, wired } = benchWiring(bed, bucket, table, env);
  return {
    config,
    /** How the functions reach the cluster: their EKS token (IAM identity → RBAC), as the trigger's calls present it. */
    connect: makeConnector(config, credentials),
    bucket,
    table,
    /** Where the bucket's S3 notifications arrive. */
    uploadsQueueUrl: queueUrl,
    submit: wired.submit,
    reconcile: { ...wired.reconcile, remainingMs: () => 900_000 },
    /** Upload n distinct contexts and return the notices S3 would send for them. */
    async upload(n: number, prefix: string): Promise<UploadNotice[]> {
      const s3 = new S3Client(aws);
      const body = gzip(sampleContext());
      const notices: UploadNotice[] = [];
      for (let i = 0; i < n; i += 1) {
        const key = `contexts/${prefix}/${i}.tar.gz`;
        const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        notices.push({
          bucket,
          encodedKey: encodeURIComponent(key),
          versionId: out.VersionId,
          etag: out.ETag,
          eventTime: new Date().toISOString(),
        });
      }
      return notices;
    },
  };
}

/**
 * The trigger as Lambda runs it on a deployment's uploads: its S3
 * notifications through the local runtime's async invoker (retries, a
 * dead-letter queue of its own).
 */
export async function startTriggerOnUploads(
  bed: BedInfo,
  deployment: Awaited<ReturnType<typeof benchDeployment>>,
  logger: Logger,
): Promise<{ stop: () => Promise<void> }> {
  const sqs = new SQSClient(adminAws(bed));
  const { QueueUrl: deadLetter } = await sqs.send(new CreateQueueCommand({ QueueName: benchName("dead-letter") }));
  const trigger = createTriggerHandler(deployment.submit, logger);
  return startAsyncInvoker({
    sqs,
    queueUrl: deployment.uploadsQueueUrl,
    deadLetterQueueUrl: deadLetter ?? "",
    functionArn: "arn:aws:lambda:us-east-1:123456789012:function:bench-trigger",
    handler: (event) => trigger(event as S3Event),
  });
}
