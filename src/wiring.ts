import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ECRClient } from "@aws-sdk/client-ecr";
import { EKSClient } from "@aws-sdk/client-eks";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { AwsCredentialIdentity } from "@smithy/types";
import type { ApiDeps } from "./api/handler.js";
import { EventBridgeBuildEvents } from "./aws/build-events.js";
import { S3ContextObjects } from "./aws/context-objects.js";
import { S3LogArchive } from "./aws/log-archive.js";
import type { Config } from "./config.js";
import { KubernetesBuildCluster } from "./kube/cluster.js";
import { type ClusterConnector, eksConnector, kubeconfigConnector } from "./kube/connect.js";
import type { JobSettings } from "./kube/job.js";
import { S3ContextCatalog } from "./rebuild/catalog.js";
import type { RebuildDeps } from "./rebuild/rebuild.js";
import { ReconcileMemory } from "./reconcile/memory.js";
import type { ReconcileDeps, ReconcileSettings } from "./reconcile/reconcile.js";
import { ClusterRegistryAccess, ecrLogins } from "./registry/access.js";
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
    baseImageCache: config.baseImageCache,
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
    contextsBucket: config.bucket,
    contextLimits: config.contextLimits,
    maxUploadBytes: config.maxUploadBytes,
    retentionDays: config.retentionDays,
    job: jobSettings(config),
  };
}

export { S3ContextObjects };

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
    prices: config.prices,
  };
}

/**
 * The clients one process shares between the functions it runs: one
 * connection pool to the cluster, one table client. A Lambda container runs
 * one function; the local runtime runs them all on one set.
 */
export function functionClients(config: Config, credentials?: AwsCredentialIdentity) {
  const s3 = makeS3(config, credentials);
  const cluster = new KubernetesBuildCluster(makeConnector(config, credentials));
  return {
    config,
    cluster,
    // Simulated builds pull and push nothing, so there is nothing to ask a registry.
    registry: config.simulatedBuilds
      ? undefined
      : new ClusterRegistryAccess(
          cluster,
          { ...config, allowedHosts: allowedRegistryHosts(config) },
          ecrLogins((region) => new ECRClient(awsClientSettings({ ...config, region }, credentials))),
        ),
    store: makeBuildStore(config, credentials),
    s3,
    // Builder logs go under logs/ in the contexts bucket, through the same S3 client.
    logs: new S3LogArchive(s3, config.bucket),
    events: makeBuildEvents(config, credentials),
    now: () => new Date(),
  };
}

export type FunctionClients = ReturnType<typeof functionClients>;

/** BASE_IMAGE_REGISTRIES with the destination registry and the mirror; empty when any registry may be asked. */
function allowedRegistryHosts(config: Config): string[] {
  if (config.baseImageRegistries.length === 0) return [];
  const hostOf = (registry: string) => registry.split("/")[0] ?? registry;
  const hosts = [...config.baseImageRegistries, config.registry, config.registryMirror ?? ""].map(hostOf);
  return [...new Set(hosts.filter(Boolean))];
}

/** What the trigger (and a rebuild's submissions) run with. */
export function triggerDeps(clients: FunctionClients): SubmitDeps {
  const { config, store, events, cluster, now } = clients;
  return {
    objects: new S3ContextObjects(clients.s3),
    store,
    events,
    cluster,
    registry: clients.registry,
    settings: submitSettings(config),
    now,
  };
}

/** What the reconciler runs with, but its remaining time (each invocation's own). */
export function reconcileDeps(clients: FunctionClients): Omit<ReconcileDeps, "remainingMs"> {
  const { config, store, logs, events, cluster, now } = clients;
  return {
    cluster,
    store,
    logs,
    events,
    registry: clients.registry,
    settings: reconcileSettings(config),
    now,
    // Kept while the container (or the local runtime) lives.
    memory: new ReconcileMemory(),
  };
}

/** What nightly and event rebuilds run with. */
export function rebuildDeps(clients: FunctionClients): RebuildDeps {
  const { config } = clients;
  return {
    catalog: new S3ContextCatalog(clients.s3, config.bucket),
    submit: triggerDeps(clients),
    queries: clients.store,
    policy: config.nightlyRebuild,
    nightlyRepositories: config.nightlyRepositories,
    nightlyTagFormat: config.nightlyTagFormat,
  };
}

/** What the HTTP API and its status page run with, from any set of clients (a function's, or a person's). */
export function apiDepsOf(
  clients: Pick<ApiDeps, "store" | "logs" | "events" | "cluster">,
  settings: { namespace: string; buildsTable: string; maxConcurrentBuilds: number },
  now: () => Date = () => new Date(),
): ApiDeps {
  return {
    store: clients.store,
    logs: clients.logs,
    events: clients.events,
    cluster: clients.cluster,
    namespace: settings.namespace,
    deployment: settings.buildsTable,
    maxConcurrentBuilds: settings.maxConcurrentBuilds,
    now,
    title: `dropbuild (${settings.buildsTable})`,
  };
}

/** What the API function runs with: the table, the log archive, and the cluster. */
export function apiDeps(clients: FunctionClients): ApiDeps {
  return apiDepsOf(clients, clients.config, clients.now);
}

/**
 * The trigger's and the reconciler's dependencies on one set of clients:
 * what the tests and the benchmarks drive.
 */
export function functionDeps(config: Config, credentials?: AwsCredentialIdentity) {
  const clients = functionClients(config, credentials);
  return {
    clients,
    cluster: clients.cluster,
    store: clients.store,
    submit: triggerDeps(clients),
    reconcile: reconcileDeps(clients),
  };
}
