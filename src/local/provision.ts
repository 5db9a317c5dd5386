import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  CreateTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { type EventBridgeClient, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import {
  CreateBucketCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { EVENT_SOURCE } from "../aws/build-events.js";
import { CONTEXT_FORMATS, CONTEXTS_PREFIX } from "../build/key.js";
import { buildsTableDefinition, TTL_ATTRIBUTE } from "../store/table.js";

const run = promisify(execFile);

/** Create the builds table (as serverless.yml does), with its TTL; an existing table is left as it is. */
export async function ensureBuildsTable(dynamo: DynamoDBClient, table: string): Promise<void> {
  try {
    await dynamo.send(new CreateTableCommand(buildsTableDefinition(table)));
  } catch (error: unknown) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilTableExists({ client: dynamo, maxWaitTime: 30 }, { TableName: table });
  await dynamo.send(
    new UpdateTimeToLiveCommand({
      TableName: table,
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    }),
  );
}

export interface NotificationOptions {
  /** Notify for every key, not only contexts/ with the three suffixes (tests use this to see bad keys rejected). */
  allKeys?: boolean;
}

/**
 * The contexts bucket, versioned, whose ObjectCreated events go to an SQS
 * queue. In AWS the trigger is invoked by S3 directly; locally the runtime
 * reads this queue and invokes the same handler.
 */
export async function ensureContextsBucket(
  s3: S3Client,
  sqs: SQSClient,
  bucket: string,
  queueName: string,
  options: NotificationOptions = {},
): Promise<{ queueUrl: string }> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: unknown) => {
    if (!(error instanceof Error && /BucketAlready(OwnedByYou|Exists)/.test(error.name))) throw error;
  });
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  if (!QueueUrl) throw new Error(`could not create queue ${queueName}`);
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
  const filters = options.allKeys
    ? [{ Filter: undefined }]
    : CONTEXT_FORMATS.map((format) => ({
        Filter: {
          Key: {
            FilterRules: [
              { Name: "prefix" as const, Value: CONTEXTS_PREFIX },
              { Name: "suffix" as const, Value: format.suffix },
            ],
          },
        },
      }));
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: {
        QueueConfigurations: filters.map((filter) => ({
          QueueArn: Attributes?.QueueArn,
          Events: ["s3:ObjectCreated:*"],
          ...filter,
        })),
      },
    }),
  );
  return { queueUrl: QueueUrl };
}

/** Render infra/k8s/<overlay> with kustomize and server-side apply it, as a platform engineer would. */
export async function applyInfra(kubectl: string, kubeconfig: string, overlayDir: string): Promise<string> {
  const { stdout: manifests } = await run(kubectl, ["kustomize", overlayDir], { maxBuffer: 16 * 1024 * 1024 });
  return applyManifests(kubectl, kubeconfig, manifests);
}

/** Server-side apply manifests (YAML or JSON) as dropbuild's field manager, the one infra/k8s is applied with. */
export function applyManifests(kubectl: string, kubeconfig: string, manifests: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      kubectl,
      ["--kubeconfig", kubeconfig, "apply", "--server-side", "--field-manager=dropbuild", "-f", "-"],
      (error, stdout, stderr) =>
        error ? reject(new Error(`kubectl apply failed: ${stderr || error.message}`)) : resolve(stdout),
    );
    child.stdin?.end(manifests);
  });
}

/**
 * An EventBridge rule sending every dropbuild outcome to an SQS queue: what a
 * team would set up to be notified, and what the local runtime's live view reads.
 */
export function ensureOutcomeQueue(
  events: EventBridgeClient,
  sqs: SQSClient,
  options: { busName: string; ruleName: string; queueName: string },
): Promise<{ queueUrl: string }> {
  return ensureEventQueue(events, sqs, { ...options, source: EVENT_SOURCE });
}

/** A rule matching events of one source, delivering them to an SQS queue. */
export async function ensureEventQueue(
  events: EventBridgeClient,
  sqs: SQSClient,
  options: { busName: string; ruleName: string; queueName: string; source: string },
): Promise<{ queueUrl: string }> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: options.queueName }));
  if (!QueueUrl) throw new Error(`could not create queue ${options.queueName}`);
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
  await events.send(
    new PutRuleCommand({
      Name: options.ruleName,
      EventBusName: options.busName,
      EventPattern: JSON.stringify({ source: [options.source] }),
      State: "ENABLED",
    }),
  );
  await events.send(
    new PutTargetsCommand({
      Rule: options.ruleName,
      EventBusName: options.busName,
      Targets: [{ Id: "queue", Arn: Attributes?.QueueArn }],
    }),
  );
  return { queueUrl: QueueUrl };
}
