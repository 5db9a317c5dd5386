import { DeleteTableCommand, DynamoDBClient, paginateListTables } from "@aws-sdk/client-dynamodb";
import {
  DeleteEventBusCommand,
  DeleteRuleCommand,
  EventBridgeClient,
  ListEventBusesCommand,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  RemoveTargetsCommand,
} from "@aws-sdk/client-eventbridge";
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListBucketsCommand,
  ListObjectVersionsCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { DeleteQueueCommand, paginateListQueues, SQSClient } from "@aws-sdk/client-sqs";
import {
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  StorageV1Api,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type { BedInfo } from "../../bed/state.js";
import { RECORD_FINALIZER } from "../../src/kube/job.js";

/** What a target holds that a test run may create: names per kind. */
export interface Inventory {
  tables: string[];
  buckets: string[];
  queues: string[];
  buses: string[];
  namespaces: string[];
  storageClasses: string[];
  /** Jobs in the `default` namespace (the other namespaces a run uses are its own, and go whole). */
  defaultJobs: string[];
}

/** SDK settings for the target's AWS half, as its admin (no vitest here: the demonstration script uses this too). */
function awsConfig(info: BedInfo) {
  return {
    ...(info.aws.endpoint ? { endpoint: info.aws.endpoint } : {}),
    region: info.aws.region,
    forcePathStyle: true,
    credentials: { accessKeyId: info.aws.accessKeyId, secretAccessKey: info.aws.secretAccessKey },
  };
}

/** Names uniqueName gives (`<prefix>-<pid>-<time>-<n>`), and the objects infra/k8s applies. */
const TEST_NAME = /-\d+-[0-9a-z]{6,}-\d+/;
const INFRA_NAMES = new Set(["dropbuild", "dropbuild-efs"]);
const ownedByTests = (name: string) => TEST_NAME.test(name) || INFRA_NAMES.has(name);

export async function inventory(info: BedInfo, halves: { aws: boolean; kube: boolean }): Promise<Inventory> {
  const empty: Inventory = {
    tables: [],
    buckets: [],
    queues: [],
    buses: [],
    namespaces: [],
    storageClasses: [],
    defaultJobs: [],
  };
  const aws = halves.aws ? await awsInventory(info) : {};
  const kube = halves.kube ? await kubeInventory(info) : {};
  return { ...empty, ...aws, ...kube };
}

async function awsInventory(info: BedInfo) {
  const config = awsConfig(info);
  const tables: string[] = [];
  for await (const page of paginateListTables({ client: new DynamoDBClient(config) }, {})) {
    tables.push(...(page.TableNames ?? []));
  }
  const queues: string[] = [];
  for await (const page of paginateListQueues({ client: new SQSClient(config) }, { MaxResults: 1000 })) {
    queues.push(...(page.QueueUrls ?? []));
  }
  const buckets = (await new S3Client(config).send(new ListBucketsCommand({}))).Buckets ?? [];
  const buses = (await new EventBridgeClient(config).send(new ListEventBusesCommand({}))).EventBuses ?? [];
  return {
    tables,
    buckets: buckets.map((b) => b.Name ?? ""),
    queues,
    buses: buses.map((b) => b.Name ?? "").filter((name) => name !== "default"),
  };
}

async function kubeInventory(info: BedInfo) {
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfigs.admin);
  const namespaces = await kc.makeApiClient(CoreV1Api).listNamespace();
  const classes = await kc.makeApiClient(StorageV1Api).listStorageClass();
  const jobs = await kc.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: "default" });
  return {
    defaultJobs: jobs.items.map((job) => job.metadata?.name ?? ""),
    namespaces: namespaces.items.map((ns) => ns.metadata?.name ?? ""),
    storageClasses: classes.items.map((sc) => sc.metadata?.name ?? ""),
  };
}

/** What `after` holds that `before` did not; with `onlyTests`, only what a test run creates (see ownedByTests). */
export function createdSince(before: Inventory, after: Inventory, onlyTests = true): Inventory {
  const owned = (name: string) => !onlyTests || ownedByTests(name.split("/").at(-1) ?? name);
  const fresh = (key: keyof Inventory) => after[key].filter((name) => !before[key].includes(name) && owned(name));
  return {
    tables: fresh("tables"),
    buckets: fresh("buckets"),
    queues: fresh("queues"),
    buses: fresh("buses"),
    namespaces: fresh("namespaces"),
    storageClasses: fresh("storageClasses"),
    defaultJobs: fresh("defaultJobs"),
  };
}

export const isEmpty = (found: Inventory) => Object.values(found).every((names: string[]) => names.length === 0);

/** Delete what a run created: tables, buckets with every object version, queues, buses with their rules, namespaces. */
export async function removeCreated(info: BedInfo, created: Inventory): Promise<void> {
  const config = awsConfig(info);
  const dynamo = new DynamoDBClient(config);
  for (const table of created.tables) await dynamo.send(new DeleteTableCommand({ TableName: table }));
  const s3 = new S3Client(config);
  for (const bucket of created.buckets) await emptyAndDeleteBucket(s3, bucket);
  const sqs = new SQSClient(config);
  for (const queue of created.queues) await sqs.send(new DeleteQueueCommand({ QueueUrl: queue }));
  const events = new EventBridgeClient(config);
  for (const bus of created.buses) await deleteBus(events, bus);
  await removeKubernetesObjects(info, created);
}

async function emptyAndDeleteBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const objects = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map((v) => ({
      Key: v.Key ?? "",
      VersionId: v.VersionId,
    }));
    if (objects.length === 0) break;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
  }
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
}

async function deleteBus(events: EventBridgeClient, bus: string): Promise<void> {
  const { Rules } = await events.send(new ListRulesCommand({ EventBusName: bus }));
  for (const rule of Rules ?? []) {
    const { Targets } = await events.send(new ListTargetsByRuleCommand({ Rule: rule.Name, EventBusName: bus }));
    const ids = (Targets ?? []).map((t) => t.Id ?? "");
    if (ids.length) await events.send(new RemoveTargetsCommand({ Rule: rule.Name, EventBusName: bus, Ids: ids }));
    await events.send(new DeleteRuleCommand({ Name: rule.Name, EventBusName: bus }));
  }
  await events.send(new DeleteEventBusCommand({ Name: bus }));
}

async function removeKubernetesObjects(info: BedInfo, created: Inventory): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfigs.admin);
  const batch = kc.makeApiClient(BatchV1Api);
  for (const name of created.defaultJobs) await deleteJob(batch, name, "default");
  const core = kc.makeApiClient(CoreV1Api);
  for (const name of created.namespaces) {
    // A Job keeps dropbuild's record finalizer until a reconcile records it; a test need not reconcile every build.
    const jobs = await batch.listNamespacedJob({ namespace: name });
    for (const job of jobs.items) await releaseJob(batch, job.metadata?.name ?? "", name, job.metadata?.finalizers);
    await core.deleteNamespace({ name });
  }
  const storage = kc.makeApiClient(StorageV1Api);
  for (const name of created.storageClasses) await storage.deleteStorageClass({ name });
}

async function deleteJob(batch: BatchV1Api, name: string, namespace: string): Promise<void> {
  const job = await batch.readNamespacedJob({ name, namespace });
  await releaseJob(batch, name, namespace, job.metadata?.finalizers);
  await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: "Background" });
}

/** Take dropbuild's record finalizer off a Job, so that deleting it (or its namespace) completes. */
async function releaseJob(batch: BatchV1Api, name: string, namespace: string, finalizers: string[] = []) {
  if (!finalizers.includes(RECORD_FINALIZER)) return;
  const body = { metadata: { finalizers: finalizers.filter((f) => f !== RECORD_FINALIZER) } };
  await batch.patchNamespacedJob({ name, namespace, body }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
}
