import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EKSClient } from "@aws-sdk/client-eks";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { AwsCredentialIdentity } from "@smithy/types";
import { EventBridgeBuildEvents } from "./aws/build-events.js";
import { S3ContextObjects } from "./aws/context-objects.js";
import { S3LogArchive } from "./aws/log-archive.js";
import type { Config } from "./config.js";
import { KubernetesBuildCluster } from "./kube/cluster.js";
import { type ClusterConnector, eksConnector, kubeconfigConnector } from "./kube/connect.js";
import type { JobSettings } from "./kube/job.js";
import { ReconcileMemory } from "./reconcile/memory.js";
import type { ReconcileSettings } from "./reconcile/reconcile.js";
import { BuildStore } from "./store/builds.js";
import type { SubmitDeps, SubmitSettings } from "./trigger/submit-upload.js";

/**
 * Settings every AWS client shares: region, the emulator's endpoint when one
 * is configured, and explicit credentials only where a caller (the local
 * runtime, tests) hands some in; otherwise the default chain (Lambda's role).
 */
type AwsSettings = { region: string; awsEndpoint?: string };

export function awsClientSettings(config: AwsSettings, credentials?: AwsCredentialIdentity) {
  return {
    region: config.region,
    ...(config.awsEndpoint ? { endpoint: config.awsEndpoint } : {}),
    ...(credentials ? { credentials } : {}),
  };
}

export function makeS3(config: AwsSettings, credentials?: AwsCredentialIdentity): S3Client {
  // Emulators answer on an IP and port, where virtual-hosted bucket names cannot resolve.
  return new S3Client({ ...awsClientSettings(config, credentials), forcePathStyle: Boolean(config.awsEndpoint) });
}

export function makeBuildStore(
  config: AwsSettings & Pick<Config, "buildsTable">,
  credentials?: AwsCredentialIdentity,
): BuildStore {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(awsClientSettings(config, credentials)), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return new BuildStore(doc, config.buildsTable);
}

export function makeConnector(
  config: AwsSettings & { cluster: Config["cluster"] },
  credentials?: AwsCredentialIdentity,
): ClusterConnector {
  if (config.cluster.kind === "kubeconfig") return kubeconfigConnector(config.cluster.path);
  return eksConnector({
    eks: new EKSClient(awsClientSettings(config, credentials)),
    clusterName: config.cluster.name,
    region: config.region,
    credentials: credentials ? async () => credentials : defaultProvider(),
    stsEndpoint: config.awsEndpoint,
  });
}

export function jobSettings(config: Config): JobSettings {
  return {
    namespace: config.namespace,
    deployment: config.buildsTable,
    images: config.images,
    builderServiceAccount: config.builderServiceAccount,
    workspaceClaim: config.workspaceClaim,
    registrySecret: config.registrySecret,
    registry: config.registry,
    registryMirror: config.registryMirror,
    registryCaConfigMap: config.registryCaConfigMap,
    cacheRepo: config.cacheRepo,
    backoffLimit: config.backoffLimit,
    deadlineSeconds: config.deadlineSeconds,
    ttlSecondsAfterFinished: config.ttlSecondsAfterFinished,
    resources: config.resources,
    region: config.region,
    awsEndpoint: config.buildAwsEndpoint,
    simulatedBuilds: config.simulatedBuilds,
    kueueQueueName: config.kueueQueueName,
  };
}

export function submitSettings(config: Config): SubmitSettings {
  return {
    maxConcurrentBuilds: config.maxConcurrentBuilds,
    registry: config.registry,
    defaultDockerfile: config.defaultDockerfile,
    contextLimits: config.contextLimits,
    retentionDays: config.retentionDays,
    job: jobSettings(config),
  };
}

export { S3ContextObjects };

export function makeLogArchive(
  config: AwsSettings & Pick<Config, "bucket">,
  credentials?: AwsCredentialIdentity,
): S3LogArchive {
  return new S3LogArchive(makeS3(config, credentials), config.bucket);
}

export function makeBuildEvents(
  config: AwsSettings & Pick<Config, "eventBusName">,
  credentials?: AwsCredentialIdentity,
): EventBridgeBuildEvents {
  return new EventBridgeBuildEvents(new EventBridgeClient(awsClientSettings(config, credentials)), config.eventBusName);
}

export function reconcileSettings(config: Config): ReconcileSettings {
  return {
    namespace: config.namespace,
    pageSize: config.reconcilePageSize,
    queuedGraceSeconds: config.queuedGraceSeconds,
    maxConcurrentBuilds: config.maxConcurrentBuilds,
    job: jobSettings(config),
  };
}

/**
 * Everything the trigger and the reconciler need, wired once from
 * configuration: what the local runtime, the tests and the benchmarks run.
 * (Each Lambda entry wires only its own clients, to keep its bundle small.)
 */
export function functionDeps(config: Config, credentials?: AwsCredentialIdentity) {
  const cluster = new KubernetesBuildCluster(makeConnector(config, credentials));
  const store = makeBuildStore(config, credentials);
  const now = () => new Date();
  const submit: SubmitDeps = {
    objects: new S3ContextObjects(makeS3(config, credentials)),
    store,
    cluster,
    settings: submitSettings(config),
    now,
  };
  const reconcile = {
    cluster,
    store,
    logs: makeLogArchive(config, credentials),
    events: makeBuildEvents(config, credentials),
    settings: reconcileSettings(config),
    now,
    memory: new ReconcileMemory(),
  };
  return { cluster, store, submit, reconcile };
}
