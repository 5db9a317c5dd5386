import type { Server } from "node:http";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { CreateQueueCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { AwsCredentialIdentity } from "@smithy/types";
import type { S3Event } from "aws-lambda";
import type { Progress } from "../../bed/build/progress.js";
import { applyRealBuildObjects, realBuildEnvironment } from "../../bed/node/deployment.js";
import { repoRoot } from "../../bed/paths.js";
import type { BedInfo } from "../../bed/state.js";
import { bedDown, bedUp } from "../../bed/up.js";
import { type Config, loadConfig } from "../config.js";
import { startLocalHttp } from "../dashboard/server.js";
import { fileLogger } from "../log.js";
import { REBUILD_SOURCE } from "../rebuild/handler.js";
import { apiRoot } from "../roots/api.js";
import { nightlyRoot } from "../roots/nightly.js";
import { triggerRoot } from "../roots/trigger.js";
import type { TriggerResult } from "../trigger/handler.js";
import { functionClients, makeS3, reconcileDeps } from "../wiring.js";
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
  const config = loadConfig({ ...functionEnvironment(bed), ...options.functionEnv });
  // The emulator's admin: creates what serverless.yml would, and moves events as Lambda's service would.
  const admin = {
    region: bed.aws.region,
    endpoint: bed.aws.endpoint,
    credentials: { accessKeyId: bed.aws.accessKeyId, secretAccessKey: bed.aws.secretAccessKey },
  };
  const sqs = new SQSClient(admin);
  const queues = await provisionLocal(bed, config, admin, sqs);
  const functions = await startFunctions(bed, config, queues, sqs, options, activity);
  const state = localState(bed, config, queues, functions.apiUrl, options.stateDir);
  let stopped = false;
  return {
    state,
    config,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await functions.stop();
      await bedDown(bedDir);
    },
  };
}

type LocalQueues = LocalState["queues"];

/** What serverless.yml would create, on the emulator, and infra/k8s applied to the bed. */
async function provisionLocal(
  bed: BedInfo,
  config: Config,
  admin: { region: string; endpoint: string; credentials: AwsCredentialIdentity },
  sqs: SQSClient,
): Promise<LocalQueues> {
  const events = new EventBridgeClient(admin);
  await ensureBuildsTable(new DynamoDBClient(admin), LOCAL_NAMES.table);
  const s3Admin = makeS3(config, admin.credentials);
  const { queueUrl: uploads } = await ensureContextsBucket(s3Admin, sqs, LOCAL_NAMES.bucket, LOCAL_NAMES.uploadsQueue);
  const { QueueUrl: deadLetter } = await sqs.send(new CreateQueueCommand({ QueueName: LOCAL_NAMES.deadLetterQueue }));
  if (!deadLetter) throw new Error("could not create the dead-letter queue");
  const { queueUrl: outcomes } = await ensureOutcomeQueue(events, sqs, {
    busName: LOCAL_NAMES.busName,
    ruleName: LOCAL_NAMES.outcomesRule,
    queueName: LOCAL_NAMES.outcomesQueue,
  });
  // serverless.yml's rule for rebuild events targets the nightly function; locally a queue stands between.
  const { queueUrl: rebuilds } = await ensureEventQueue(events, sqs, {
    busName: LOCAL_NAMES.busName,
    ruleName: LOCAL_NAMES.rebuildRule,
    queueName: LOCAL_NAMES.rebuildQueue,
    source: REBUILD_SOURCE,
  });
  await applyInfra(bed.kubectl, bed.kubeconfigs.admin, join(repoRoot, "infra", "k8s", "overlays", "local"));
  if (bed.node) await applyRealBuildObjects(bed.kubectl, bed.kubeconfigs.admin, bed.node, config.namespace);
  return { uploads, deadLetter, outcomes, rebuilds };
}

/**
 * The four functions, built by the same composition roots as the Lambda
 * entries, on one set of clients with the functions' IAM identity (the
 * bed's webhook maps it like an EKS access entry): the trigger and nightly
 * fed from their queues with Lambda's retry and on-failure semantics, the
 * reconciler every few seconds, the API and status page on localhost.
 */
async function startFunctions(
  bed: BedInfo,
  config: Config,
  queues: LocalQueues,
  sqs: SQSClient,
  options: LocalRuntimeOptions,
  activity: Activity,
) {
  const identity = bed.identities.functions;
  if (!identity) throw new Error("the bed has no functions identity");
  const clients = functionClients(config, {
    accessKeyId: identity.accessKeyId,
    secretAccessKey: identity.secretAccessKey,
  });
  const logger = (name: string) => fileLogger(`dropbuild-${name}`, join(options.stateDir, `${name}.log`));
  const trigger = triggerRoot(config, { clients, logger: logger("trigger") });
  const rebuild = nightlyRoot(config, { clients, logger: logger("nightly") });
  const invokers = startInvokers(bed, sqs, queues, { trigger, rebuild }, activity);
  const reconciler = startReconcileLoop(
    reconcileDeps(clients),
    { everyMs: options.reconcileEveryMs ?? 2000, windowMs: config.reconcileWatchSeconds * 1000 },
    logger("reconcile"),
  );
  const server: Server = await startLocalHttp(
    {
      api: apiRoot(config, { clients, logger: logger("api") }),
      // Lambda's Invoke API for `dropbuild redrive` and the on-demand nightly run.
      lambdas: {
        [LOCAL_NAMES.triggerFunction]: (event) => trigger(event as S3Event),
        [LOCAL_NAMES.nightlyFunction]: (event) => rebuild(event),
      },
    },
    options.apiPort ?? 0,
  );
  const address = server.address();
  return {
    apiUrl: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`,
    stop: async () => {
      await Promise.all([
        ...invokers.map((invoker) => invoker.stop()),
        reconciler.stop(),
        new Promise((resolve) => server.close(resolve)),
      ]);
    },
  };
}

/** Lambda's asynchronous invocation of the trigger (S3 notifications) and of nightly (rebuild events). */
function startInvokers(
  bed: BedInfo,
  sqs: SQSClient,
  queues: LocalQueues,
  handlers: { trigger: ReturnType<typeof triggerRoot>; rebuild: ReturnType<typeof nightlyRoot> },
  activity: Activity,
) {
  const deployed = join(repoRoot, "serverless.yml");
  const arn = (name: string) => `arn:aws:lambda:${bed.aws.region}:123456789012:function:${name}`;
  const rebuildInvoker = startAsyncInvoker({
    timeoutSeconds: functionTimeout(deployed, "nightly"),
    sqs,
    queueUrl: queues.rebuilds,
    // No on-failure destination, as deployed: the trigger's dead-letter queue is replayed into the trigger.
    functionArn: arn(LOCAL_NAMES.nightlyFunction),
    handler: async (event) => {
      const result = await handlers.rebuild(event);
      activity(`rebuild event: ${JSON.stringify(result).slice(0, 160)}`);
      return result;
    },
    onInvoke: ({ ok, attempt, error }) => {
      if (!ok) activity(`rebuild event failed (attempt ${attempt}): ${error}`);
    },
  });
  const triggerInvoker = startAsyncInvoker({
    timeoutSeconds: functionTimeout(deployed, "trigger"),
    sqs,
    queueUrl: queues.uploads,
    deadLetterQueueUrl: queues.deadLetter,
    functionArn: arn(LOCAL_NAMES.triggerFunction),
    handler: async (event) => {
      const result: TriggerResult = await handlers.trigger(event as S3Event);
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
  return [triggerInvoker, rebuildInvoker];
}

/** What `local up` records for `local env`, `local down` and the tests. */
function localState(bed: BedInfo, config: Config, queues: LocalQueues, apiUrl: string, stateDir: string): LocalState {
  return {
    pid: process.pid,
    stateDir,
    startedAt: new Date().toISOString(),
    apiUrl,
    bed,
    queues,
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
      MAX_CONCURRENT_BUILDS: String(config.maxConcurrentBuilds),
      DROPBUILD_API_URL: apiUrl,
      DROPBUILD_DLQ_URL: queues.deadLetter,
      DROPBUILD_TRIGGER_FUNCTION: LOCAL_NAMES.triggerFunction,
      DROPBUILD_NIGHTLY_FUNCTION: LOCAL_NAMES.nightlyFunction,
      DROPBUILD_LAMBDA_ENDPOINT: apiUrl,
    },
  };
}
