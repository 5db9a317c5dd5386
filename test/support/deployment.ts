import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateEventBusCommand, EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { S3Event } from "aws-lambda";
import { inject } from "vitest";
import { applyRealBuildObjects, realBuildEnvironment } from "../../bed/node/deployment.js";
import { repoRoot } from "../../bed/paths.js";
import type { BedInfo } from "../../bed/state.js";
import { type ApiDeps, createApiHandler } from "../../src/api/handler.js";
import type { BuildRecord } from "../../src/build/record.js";
import { type Config, loadConfig } from "../../src/config.js";
import { applyInfra, ensureBuildsTable, ensureContextsBucket, ensureOutcomeQueue } from "../../src/local/provision.js";
import { createLogger } from "../../src/log.js";
import type { ReconcileDeps } from "../../src/reconcile/reconcile.js";
import type { SubmitDeps } from "../../src/trigger/submit-upload.js";
import { apiDeps, functionDeps } from "../../src/wiring.js";
import { awsConfig, bed, uniqueName } from "./bed.js";

export const REGISTRY = "registry.dropbuild.test:5000";

/** An outcome event as the rule delivers it to the test's queue. */
export type OutcomeEvent = { "detail-type": string; detail: BuildRecord };

/** Configuration as the functions would read it, pointed at the bed. */
export function bedConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig(bedEnvironment(overrides));
}

/** The functions' environment variables on the bed, as a deployed Lambda would have them. */
export function bedEnvironment(overrides: Record<string, string> = {}): Record<string, string> {
  const info = bed();
  return {
    AWS_REGION: info.aws.region,
    // Empty on real AWS (DROPBUILD_TEST_AWS_ENDPOINT=aws): the SDK's own endpoints.
    ...(info.aws.endpoint ? { AWS_ENDPOINT_URL: info.aws.endpoint } : {}),
    BUILDS_TABLE: overrides.BUILDS_TABLE ?? "unused",
    CONTEXTS_BUCKET: overrides.CONTEXTS_BUCKET ?? "unused",
    // On the bed the functions reach moto's EKS cluster with an IAM token; elsewhere the target's kubeconfig.
    ...(onEmulatedEks() ? { CLUSTER_NAME: info.cluster.name } : { KUBECONFIG_PATH: info.kubeconfigs.functions }),
    REGISTRY,
    SIMULATED_BUILDS: "true",
    ...overrides,
  };
}

/**
 * A fresh deployment on the bed: its own bucket (notifying a queue), table,
 * and infra/k8s applied with the local overlay. The functions' AWS and
 * Kubernetes calls use the functions' IAM identity.
 */
export async function deployOnBed(
  options: {
    allKeys?: boolean;
    env?: Record<string, string>;
    /** Build for real on the bed's node (kaniko, the bed registry) instead of kwok's simulation. */
    real?: boolean;
  } = {},
) {
  const info = bed();
  const node = info.node;
  if (options.real && !node) throw new Error("this bed has no real node (DROPBUILD_BED_REAL_NODE=false?)");
  const bucket = uniqueName("contexts");
  const table = uniqueName("builds");
  const s3 = new S3Client(awsConfig());
  const sqs = new SQSClient(awsConfig());
  await ensureBuildsTable(new DynamoDBClient(awsConfig()), table);
  const { queueUrl } = await ensureContextsBucket(s3, sqs, bucket, uniqueName("uploads"), { allKeys: options.allKeys });
  await applyInfra(info.kubectl, info.kubeconfigs.admin, join(repoRoot, "infra", "k8s", "overlays", "local"));
  const real = options.real && node ? realBuildEnvironment(node) : {};
  if (options.real && node) await applyRealBuildObjects(info.kubectl, info.kubeconfigs.admin, node, "dropbuild");

  const busName = uniqueName("bus");
  const events = new EventBridgeClient(awsConfig());
  await events.send(new CreateEventBusCommand({ Name: busName }));
  const outcomes = await ensureOutcomeQueue(events, sqs, {
    busName,
    ruleName: uniqueName("outcomes"),
    queueName: uniqueName("outcomes"),
  });
  // An empty value in options.env unsets that variable (e.g. REGISTRY_SECRET: "" for a builder without credentials).
  const settings = Object.entries({
    BUILDS_TABLE: table,
    CONTEXTS_BUCKET: bucket,
    EVENT_BUS_NAME: busName,
    ...real,
    ...options.env,
  });
  const environment = bedEnvironment(Object.fromEntries(settings.filter(([, value]) => value !== "")));
  const config = loadConfig(environment);
  const credentials = functionsCredentials(info);
  const wired = functionDeps(config, credentials);
  const deps: SubmitDeps = wired.submit;
  const reconcileDeps: ReconcileDeps = { ...wired.reconcile, remainingMs: () => 60_000 };

  return {
    bucket,
    table,
    config,
    /** The functions' environment variables (what a deployed function's loadConfig reads). */
    environment,
    /** The functions' IAM identity, for tests that wire a client of their own. */
    credentials,
    deps,
    reconcileDeps,
    /** The table behind both ports (ledger and queries), as the API and the CLI use it. */
    store: wired.store,
    /** The API function's handler on this deployment, as its composition root wires it; `deps` changes some of it. */
    api(deps: Partial<ApiDeps> = {}) {
      return createApiHandler({ ...apiDeps(wired.clients), ...deps }, createLogger("api-test"));
    },
    s3,
    /** Terminal-outcome events that reached the rule's queue. */
    outcomeEvents(expected: number, timeoutMs = 20_000, keep?: (event: OutcomeEvent) => boolean) {
      return drain<OutcomeEvent>(sqs, outcomes.queueUrl, expected, timeoutMs, keep);
    },
    async upload(key: string, body: Buffer, metadata?: Record<string, string>) {
      return s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: metadata }));
    },
    /** Receive the S3 notifications that arrived on the queue, as the local runtime does. */
    async notifications(expected: number, timeoutMs = 20_000): Promise<S3Event[]> {
      // S3 also sends a test event (no Records) when the notification is configured.
      const events = await drain<Partial<S3Event>>(sqs, queueUrl, expected, timeoutMs, (e) => Boolean(e.Records));
      return events as S3Event[];
    },
  };
}

/** Whether the target has the bed's EKS stand-in (both halves are the bed). */
function onEmulatedEks(): boolean {
  return inject("capabilities").includes("emulated-eks");
}

/** The functions' IAM identity on the bed; elsewhere the target's own credentials (there is no role to assume). */
function functionsCredentials(info: BedInfo): { accessKeyId: string; secretAccessKey: string } {
  if (!onEmulatedEks()) return { accessKeyId: info.aws.accessKeyId, secretAccessKey: info.aws.secretAccessKey };
  const functionsIdentity = info.identities.functions;
  if (!functionsIdentity) throw new Error("the bed has no functions identity");
  return { accessKeyId: functionsIdentity.accessKeyId, secretAccessKey: functionsIdentity.secretAccessKey };
}

/** Receive and delete JSON messages until `expected` of those `keep` accepts arrived, or the time is up. */
async function drain<T>(
  sqs: SQSClient,
  queueUrl: string,
  expected: number,
  timeoutMs: number,
  keep: (message: T) => boolean = () => true,
): Promise<T[]> {
  const received: T[] = [];
  const deadline = Date.now() + timeoutMs;
  while (received.length < expected && Date.now() < deadline) {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    for (const message of Messages ?? []) {
      const body = JSON.parse(message.Body ?? "{}") as T;
      if (keep(body)) received.push(body);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
  return received;
}
