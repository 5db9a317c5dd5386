import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { S3Event } from "aws-lambda";
import { repoRoot } from "../../bed/paths.js";
import { type Config, loadConfig } from "../../src/config.js";
import { KubernetesBuildCluster } from "../../src/kube/cluster.js";
import { applyInfra, ensureBuildsTable, ensureContextsBucket } from "../../src/local/provision.js";
import type { SubmitDeps } from "../../src/trigger/submit-upload.js";
import { makeBuildStore, makeConnector, makeS3, S3ContextObjects, submitSettings } from "../../src/wiring.js";
import { awsConfig, bed, uniqueName } from "./bed.js";

export const REGISTRY = "registry.dropbuild.test:5000";

/** Configuration as the functions would read it, pointed at the bed. */
export function bedConfig(overrides: Record<string, string> = {}): Config {
  const info = bed();
  return loadConfig({
    AWS_REGION: info.aws.region,
    AWS_ENDPOINT_URL: info.aws.endpoint,
    BUILDS_TABLE: overrides.BUILDS_TABLE ?? "unused",
    CLUSTER_NAME: info.cluster.name,
    REGISTRY,
    SIMULATED_BUILDS: "true",
    ...overrides,
  });
}

/**
 * A fresh deployment on the bed: its own bucket (notifying a queue), table,
 * and infra/k8s applied with the local overlay. The functions' AWS and
 * Kubernetes calls use the functions' IAM identity.
 */
export async function deployOnBed(options: { allKeys?: boolean; env?: Record<string, string> } = {}) {
  const info = bed();
  const bucket = uniqueName("contexts");
  const table = uniqueName("builds");
  const s3 = new S3Client(awsConfig());
  const sqs = new SQSClient(awsConfig());
  await ensureBuildsTable(new DynamoDBClient(awsConfig()), table);
  const { queueUrl } = await ensureContextsBucket(s3, sqs, bucket, uniqueName("uploads"), { allKeys: options.allKeys });
  await applyInfra(info.kubectl, info.kubeconfigs.admin, join(repoRoot, "infra", "k8s", "overlays", "local"));

  const config = bedConfig({ BUILDS_TABLE: table, ...options.env });
  const functionsIdentity = info.identities.functions;
  if (!functionsIdentity) throw new Error("the bed has no functions identity");
  const credentials = {
    accessKeyId: functionsIdentity.accessKeyId,
    secretAccessKey: functionsIdentity.secretAccessKey,
  };
  const deps: SubmitDeps = {
    objects: new S3ContextObjects(makeS3(config, credentials)),
    store: makeBuildStore(config, credentials),
    cluster: new KubernetesBuildCluster(makeConnector(config, credentials)),
    settings: submitSettings(config),
    now: () => new Date(),
  };

  return {
    bucket,
    table,
    config,
    deps,
    s3,
    async upload(key: string, body: Buffer, metadata?: Record<string, string>) {
      return s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: metadata }));
    },
    /** Receive the S3 notifications that arrived on the queue, as the local runtime does. */
    async notifications(expected: number, timeoutMs = 20_000): Promise<S3Event[]> {
      const events: S3Event[] = [];
      const deadline = Date.now() + timeoutMs;
      while (events.length < expected && Date.now() < deadline) {
        const { Messages } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
        );
        for (const message of Messages ?? []) {
          const event = JSON.parse(message.Body ?? "{}") as Partial<S3Event>;
          if (event.Records) events.push(event as S3Event);
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
        }
      }
      return events;
    },
  };
}
