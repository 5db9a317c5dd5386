import type { Server } from "node:http";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { S3Event } from "aws-lambda";
import type { Progress } from "../../bed/build/progress.js";
import { applyRealBuildObjects, realBuildEnvironment } from "../../bed/node/deployment.js";
import { repoRoot } from "../../bed/paths.js";
import type { BedInfo } from "../../bed/state.js";
import { bedDown, bedUp } from "../../bed/up.js";
import { createApiHandler } from "../api/handler.js";
import { type Config, loadConfig } from "../config.js";
import { startLocalHttp } from "../dashboard/server.js";
import { fileLogger } from "../log.js";
import { S3ContextCatalog } from "../rebuild/catalog.js";
import { createRebuildHandler, REBUILD_SOURCE } from "../rebuild/handler.js";
import { createTriggerHandler, type TriggerResult } from "../trigger/handler.js";
import { functionDeps, makeS3 } from "../wiring.js";
import { startAsyncInvoker } from "./async-invoker.js";
import { functionTimeout } from "./function-timeouts.js";
import {
  applyInfra,
  ensureBuildsTable,
  ensureContextsBucket,
  ensureEventQueue,
  ensureOutcomeQueue,
} from "./provision.js";
import { startReconcileLoop } from "./reconcile-loop.js";

/** The local deployment's resource names, as serverless.yml would name a stage called "local". */
export const LOCAL_NAMES = {
  bucket: "dropbuild-local-contexts",
  table: "dropbuild-local-builds",
  uploadsQueue: "dropbuild-local-uploads",
  deadLetterQueue: "dropbuild-local-trigger-dlq",
  outcomesQueue: "dropbuild-local-outcomes",
  outcomesRule: "dropbuild-local-outcomes",
  rebuildQueue: "dropbuild-local-rebuilds",
  rebuildRule: "dropbuild-local-rebuilds",
  triggerFunction: "dropbuild-local-trigger",
  nightlyFunction: "dropbuild-local-nightly",
  busName: "default",
  registry: "registry.dropbuild.local:5000",
} as const;

export interface LocalState {
  pid: number;
  stateDir: string;
  startedAt: string;
  apiUrl: string;
  bed: BedInfo;
  queues: { uploads: string; deadLetter: string; outcomes: string; rebuilds: string };
  /** Shell variables that point dropbuild, the AWS CLI and kubectl at this runtime. */
  env: Record<string, string>;
}

export type Activity = (line: string) => void;

export interface LocalRuntime {
  state: LocalState;
  config: Config;
  stop: () => Promise<void>;
}

export interface LocalRuntimeOptions {
  stateDir: string;
  progress: Progress;
  activity?: Activity;
  apiPort?: number;
  reconcileEveryMs?: number;
  /** Function configuration overrides, e.g. MAX_CONCURRENT_BUILDS (`dropbuild local up --set NAME=value`). */
  functionEnv?: Record<string, string>;
  /** kwok plays every build (no real node, nothing built): `--simulate`, for scale and for machines without root. */
  simulate?: boolean;
}

/** The functions' configuration on the bed, exactly as the deployed functions read theirs. */
function functionEnvironment(bed: BedInfo): Record<string, string> {
  const builds = bed.node
    ? realBuildEnvironment(bed.node)
    : { SIMULATED_BUILDS: "true", REGISTRY: LOCAL_NAMES.registry };
  return {
    AWS_REGION: bed.aws.region,
    AWS_ENDPOINT_URL: bed.aws.endpoint,
    BUILDS_TABLE: LOCAL_NAMES.table,
    CONTEXTS_BUCKET: LOCAL_NAMES.bucket,
    EVENT_BUS_NAME: LOCAL_NAMES.busName,
    CLUSTER_NAME: bed.cluster.name,
    QUEUED_GRACE_SECONDS: "60",
    // One retry instead of three keeps a failing local build to seconds, not minutes of Job backoff.
    BUILD_BACKOFF_LIMIT: "1",
    ...builds,
  };
}

/**
 * Everything on this machine: the bed, the resources serverless.yml would
 * create, and the real handlers run in this process: the trigger fed from
 * the S3 notification queue with Lambda's retry and on-failure semantics,
 * the reconciler every few seconds, and the API plus status page on localhost.
 */
export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const activity = options.activity ?? (() => {});
  const bedDir = join(options.stateDir, "bed");
  const bed = await bedUp(bedDir, options.progress, { realNode: !options.simulate });
  try {
    return await startOnBed(bed, bedDir, options, activity);
  } catch (error: unknown) {
    await bedDown(bedDir);
    throw error;
  }
}

async function startOnBed(
  bed: BedInfo,
  bedDir: string,
  options: LocalRuntimeOptions,
  activity: Activity,
): Promise<LocalRuntime> {
  options.progress("creating the bucket, table, queues and rules (as serverless.yml would) and applying infra/k8s");
  const admin = {
    region: bed.aws.region,
    endpoint: bed.aws.endpoint,
    credentials: { accessKeyId: bed.aws.accessKeyId, secretAccessKey: bed.aws.secretAccessKey },
  };
  const sqs = new SQSClient(admin);
  await ensureBuildsTable(new DynamoDBClient(admin), LOCAL_NAMES.table);
  const config = loadConfig({ ...functionEnvironment(bed), ...options.functionEnv });
  const s3Admin = makeS3(config, admin.credentials);
  const { queueUrl: uploads } = await ensureContextsBucket(s3Admin, sqs, LOCAL_NAMES.bucket, LOCAL_NAMES.uploadsQueue);
  const { QueueUrl: deadLetter } = await sqs.send(new CreateQueueCommand({ QueueName: LOCAL_NAMES.deadLetterQueue }));
  const { queueUrl: outcomes } = await ensureOutcomeQueue(new EventBridgeClient(admin), sqs, {
    busName: LOCAL_NAMES.busName,
    ruleName: LOCAL_NAMES.outcomesRule,
    queueName: LOCAL_NAMES.outcomesQueue,
  });
  if (!deadLetter) throw new Error("could not create the dead-letter queue");
  // serverless.yml's rule for rebuild events targets the nightly function; locally a queue stands between.
  const { queueUrl: rebuilds } = await ensureEventQueue(new EventBridgeClient(admin), sqs, {
    busName: LOCAL_NAMES.busName,
    ruleName: LOCAL_NAMES.rebuildRule,
    queueName: LOCAL_NAMES.rebuildQueue,
    source: REBUILD_SOURCE,
  });
  await applyInfra(bed.kubectl, bed.kubeconfigs.admin, join(repoRoot, "infra", "k8s", "overlays", "local"));
  if (bed.node) await applyRealBuildObjects(bed.kubectl, bed.kubeconfigs.admin, bed.node, config.namespace);

  // The functions run as their IAM role: the bed's webhook maps it like an EKS access entry.
  const functions = bed.identities.functions;
  if (!functions) throw new Error("the bed has no functions identity");
  const credentials = { accessKeyId: functions.accessKeyId, secretAccessKey: functions.secretAccessKey };
  const { cluster, store, submit: submitDeps, reconcile: reconcileDeps } = functionDeps(config, credentials);
  const { logs, events } = reconcileDeps;
  const logFile = (name: string) => join(options.stateDir, `${name}.log`);
  const trigger = createTriggerHandler(submitDeps, fileLogger("dropbuild-trigger", logFile("trigger")));
  const rebuild = createRebuildHandler(
    {
      catalog: new S3ContextCatalog(makeS3(config, credentials), config.bucket),
      submit: submitDeps,
      nightlyRepositories: config.nightlyRepositories,
      nightlyTagFormat: config.nightlyTagFormat,
    },
    fileLogger("dropbuild-nightly", logFile("nightly")),
  );
  const deployed = join(repoRoot, "serverless.yml");
  const rebuildInvoker = startAsyncInvoker({
    timeoutSeconds: functionTimeout(deployed, "nightly"),
    sqs,
    queueUrl: rebuilds,
    // No on-failure destination, as deployed: the trigger's dead-letter queue is replayed into the trigger.
    functionArn: `arn:aws:lambda:${bed.aws.region}:123456789012:function:${LOCAL_NAMES.nightlyFunction}`,
    handler: async (event) => {
      const result = await rebuild(event);
      activity(`rebuild event: ${JSON.stringify(result).slice(0, 160)}`);
      return result;
    },
    onInvoke: ({ ok, attempt, error }) => {
      if (!ok) activity(`rebuild event failed (attempt ${attempt}): ${error}`);
    },
  });
  const invoker = startAsyncInvoker({
    timeoutSeconds: functionTimeout(deployed, "trigger"),
    sqs,
    queueUrl: uploads,
    deadLetterQueueUrl: deadLetter,
    functionArn: `arn:aws:lambda:${bed.aws.region}:123456789012:function:${LOCAL_NAMES.triggerFunction}`,
    handler: async (event) => {
      const result: TriggerResult = await trigger(event as S3Event);
      for (const r of result.results) {
        activity(r.outcome === "rejected" ? `build ${r.id} REJECTED: ${r.reason}` : `build ${r.id} ${r.outcome}`);
      }
      return result;
    },
    onInvoke: ({ ok, attempt, parked, error }) => {
      if (ok) return;
      activity(
        parked
          ? `trigger failed ${attempt} times; event parked in the dead-letter queue: ${error}`
          : `trigger failed (attempt ${attempt}), will retry: ${error}`,
      );
    },
  });

  const reconciler = startReconcileLoop(
    { ...reconcileDeps, remainingMs: () => 50_000 },
    options.reconcileEveryMs ?? 2000,
    fileLogger("dropbuild-reconcile", logFile("reconcile")),
  );

  const api = createApiHandler(
    {
      store,
      cancel: { cluster, logs, events, namespace: config.namespace, now: () => new Date() },
      now: () => new Date(),
    },
    fileLogger("dropbuild-api", logFile("api")),
  );
  const server: Server = await startLocalHttp(
    {
      store,
      api,
      title: "dropbuild (local)",
      // Lambda's Invoke API for `dropbuild redrive` and the on-demand nightly run.
      lambdas: {
        [LOCAL_NAMES.triggerFunction]: (event) => trigger(event as S3Event),
        [LOCAL_NAMES.nightlyFunction]: (event) => rebuild(event),
      },
    },
    options.apiPort ?? 0,
  );
  const address = server.address();
  const apiUrl = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;

  const state: LocalState = {
    pid: process.pid,
    stateDir: options.stateDir,
    startedAt: new Date().toISOString(),
    apiUrl,
    bed,
    queues: { uploads, deadLetter, outcomes, rebuilds },
    env: {
      AWS_ENDPOINT_URL: bed.aws.endpoint,
      AWS_REGION: bed.aws.region,
      AWS_ACCESS_KEY_ID: bed.aws.accessKeyId,
      AWS_SECRET_ACCESS_KEY: bed.aws.secretAccessKey,
      BUILDS_TABLE: LOCAL_NAMES.table,
      CONTEXTS_BUCKET: LOCAL_NAMES.bucket,
      KUBECONFIG: bed.kubeconfigs.admin,
      KUBECONFIG_PATH: bed.kubeconfigs.admin,
      BUILD_NAMESPACE: config.namespace,
      DROPBUILD_API_URL: apiUrl,
      DROPBUILD_DLQ_URL: deadLetter,
      DROPBUILD_TRIGGER_FUNCTION: LOCAL_NAMES.triggerFunction,
      DROPBUILD_NIGHTLY_FUNCTION: LOCAL_NAMES.nightlyFunction,
      DROPBUILD_LAMBDA_ENDPOINT: apiUrl,
    },
  };

  let stopped = false;
  return {
    state,
    config,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await Promise.all([
        invoker.stop(),
        rebuildInvoker.stop(),
        reconciler.stop(),
        new Promise((resolve) => server.close(resolve)),
      ]);
      await bedDown(bedDir);
    },
  };
}
