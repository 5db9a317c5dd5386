// zod/mini: the same validation in a few KB of bundle (the classic API is ~450 KB minified).
import * as z from "zod/mini";
import { QUANTITY } from "./build/cost.js";

/**
 * Configuration, read from the environment once at start-up and validated.
 * This is the only module that reads `process.env`. A missing or bad value is
 * an error that names the variable.
 */
const int = (min: number, fallback: number, max = Number.MAX_SAFE_INTEGER) =>
  z._default(z.coerce.number().check(z.int(), z.gte(min), z.lte(max)), fallback);
const text = (min = 1) => z.string().check(z.minLength(min));
const optionalText = () => z.optional(text());
const withDefault = (value: string) => z._default(text(), value);
const quantity = (value: string) =>
  z._default(z.string().check(z.regex(QUANTITY, "a Kubernetes quantity such as 500m or 2Gi")), value);
const bool = z._default(
  z.pipe(
    z.enum(["true", "false"]),
    z.transform((v: "true" | "false") => v === "true"),
  ),
  false,
);

const Env = z
  .object({
    AWS_REGION: text(),
    AWS_ENDPOINT_URL: z.optional(z.url()),
    BUILDS_TABLE: text(),
    CONTEXTS_BUCKET: text(3),
    EVENT_BUS_NAME: withDefault("default"),
    RECONCILE_PAGE_SIZE: int(1, 100),
    RECONCILE_WATCH_SECONDS: int(0, 55, 840),
    QUEUED_GRACE_SECONDS: int(0, 300),
    MAX_CONCURRENT_BUILDS: int(0, 0),
    KUEUE_QUEUE_NAME: optionalText(),
    NIGHTLY_REPOSITORIES: z._default(z.string(), ""),
    NIGHTLY_REBUILD: z._default(z.enum(["always", "changed"]), "changed"),
    NIGHTLY_TAG_FORMAT: z._default(z.string().check(z.includes("{tag}")), "{tag}-nightly-{date}"),
    CLUSTER_NAME: optionalText(),
    KUBECONFIG_PATH: optionalText(),
    BUILD_NAMESPACE: z._default(z.string().check(z.regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)), "dropbuild"),
    REGISTRY: z
      .string()
      .check(z.regex(/^[a-zA-Z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?$/, "a registry host with optional port and path")),
    KANIKO_IMAGE: withDefault("ghcr.io/osscontainertools/kaniko:v1.28.3"),
    KANIKO_REGISTRY_MIRROR: z.optional(
      z
        .string()
        .check(z.regex(/^[a-zA-Z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?$/, "a registry host with optional port and path")),
    ),
    REGISTRY_CA_CONFIGMAP: optionalText(),
    BASE_IMAGE_REGISTRIES: z._default(z.string(), ""),
    BUILD_AWS_ENDPOINT_URL: z.optional(z.url()),
    STAGING_IMAGE: withDefault("public.ecr.aws/aws-cli/aws-cli:2.36.15"),
    UNPACK_IMAGE: withDefault("public.ecr.aws/docker/library/busybox:1.37"),
    BUILDER_SERVICE_ACCOUNT: withDefault("dropbuild-builder"),
    WORKSPACE_PVC: withDefault("dropbuild-workspace"),
    REGISTRY_SECRET: optionalText(),
    KANIKO_CACHE_REPO: optionalText(),
    BASE_IMAGE_CACHE: bool,
    BUILD_BACKOFF_LIMIT: int(0, 3),
    BUILD_DEADLINE_SECONDS: int(1, 3600),
    BUILD_TTL_SECONDS: int(60, 86_400),
    BUILD_CPU_REQUEST: quantity("1"),
    BUILD_MEMORY_REQUEST: quantity("2Gi"),
    BUILD_CPU_LIMIT: quantity("2"),
    BUILD_MEMORY_LIMIT: quantity("4Gi"),
    CONTEXT_MAX_BYTES: int(1, 2 * 1024 ** 3),
    CONTEXT_MAX_ENTRIES: int(1, 100_000),
    CONTEXT_MAX_UPLOAD_BYTES: int(1, 256 * 1024 ** 2),
    RECORD_RETENTION_DAYS: int(1, 90),
    BUILD_PRICE_VCPU_HOUR: z._default(z.coerce.number().check(z.gte(0)), 0.04048),
    BUILD_PRICE_GIB_HOUR: z._default(z.coerce.number().check(z.gte(0)), 0.004445),
    BUILD_PRICE_CURRENCY: withDefault("USD"),
    DEFAULT_DOCKERFILE: withDefault("Dockerfile"),
    SIMULATED_BUILDS: bool,
  })
  .check(
    z.refine((env) => Boolean(env.CLUSTER_NAME || env.KUBECONFIG_PATH), {
      message: "set CLUSTER_NAME (EKS, authenticated with the function's IAM role) or KUBECONFIG_PATH",
      path: ["CLUSTER_NAME"],
    }),
  );

export type Config = ReturnType<typeof toConfig>;

function toConfig(env: z.infer<typeof Env>) {
  return {
    region: env.AWS_REGION,
    awsEndpoint: env.AWS_ENDPOINT_URL,
    buildsTable: env.BUILDS_TABLE,
    /** Where contexts are uploaded; builder logs are archived under logs/ in the same bucket. */
    bucket: env.CONTEXTS_BUCKET,
    eventBusName: env.EVENT_BUS_NAME,
    reconcilePageSize: env.RECONCILE_PAGE_SIZE,
    /**
     * How long each reconcile invocation follows the Jobs after its pass, so
     * releases and outcomes happen within moments instead of at the next
     * scheduled run. A little under the schedule's minute; the function's
     * timeout must leave room for it (serverless.yml: 120 s). 0: a pass only.
     */
    reconcileWatchSeconds: env.RECONCILE_WATCH_SECONDS,
    queuedGraceSeconds: env.QUEUED_GRACE_SECONDS,
    /** 0 means no cap. */
    maxConcurrentBuilds: env.MAX_CONCURRENT_BUILDS,
    /** Teams on Kueue: Jobs carry this queue-name label and Kueue admits them (set the cap to 0). */
    kueueQueueName: env.KUEUE_QUEUE_NAME,
    /** Repositories rebuilt nightly besides those whose newest context is tagged dropbuild-nightly=true. */
    nightlyRepositories: env.NIGHTLY_REPOSITORIES.split(",")
      .map((r) => r.trim())
      .filter(Boolean),
    /** "changed": a rebuild whose context version and base image digests are those of its last success is skipped (recorded SKIPPED). */
    nightlyRebuild: env.NIGHTLY_REBUILD,
    /** The dated tag a nightly rebuild also pushes; {tag} and {date} (YYYYMMDD) are replaced. */
    nightlyTagFormat: env.NIGHTLY_TAG_FORMAT,
    cluster: env.KUBECONFIG_PATH
      ? ({ kind: "kubeconfig", path: env.KUBECONFIG_PATH } as const)
      : ({ kind: "eks", name: env.CLUSTER_NAME ?? "" } as const),
    namespace: env.BUILD_NAMESPACE,
    registry: env.REGISTRY.replace(/\/+$/, ""),
    images: { kaniko: env.KANIKO_IMAGE, staging: env.STAGING_IMAGE, unpack: env.UNPACK_IMAGE },
    builderServiceAccount: env.BUILDER_SERVICE_ACCOUNT,
    workspaceClaim: env.WORKSPACE_PVC,
    registrySecret: env.REGISTRY_SECRET,
    /** Where kaniko pulls Docker Hub base images from (e.g. an ECR pull-through cache). */
    registryMirror: env.KANIKO_REGISTRY_MIRROR,
    /**
     * Registry hosts base images may come from, besides REGISTRY and the
     * mirror; empty: any. The bed sets it, so nothing ever asks a registry
     * off the machine.
     */
    baseImageRegistries: env.BASE_IMAGE_REGISTRIES.split(",")
      .map((r) => r.trim())
      .filter(Boolean),
    /** A ConfigMap (key ca.crt) with the CA kaniko trusts for the registry and the mirror (private PKI). */
    registryCaConfigMap: env.REGISTRY_CA_CONFIGMAP,
    /** The AWS endpoint build pods use, when they see the emulator at another address than the functions. */
    buildAwsEndpoint: env.BUILD_AWS_ENDPOINT_URL ?? env.AWS_ENDPOINT_URL,
    cacheRepo: env.KANIKO_CACHE_REPO,
    /** The workspace directory of the shared base-image cache, when BASE_IMAGE_CACHE=true. */
    baseImageCache: env.BASE_IMAGE_CACHE ? "cache/base-images" : undefined,
    backoffLimit: env.BUILD_BACKOFF_LIMIT,
    deadlineSeconds: env.BUILD_DEADLINE_SECONDS,
    ttlSecondsAfterFinished: env.BUILD_TTL_SECONDS,
    resources: {
      requests: { cpu: env.BUILD_CPU_REQUEST, memory: env.BUILD_MEMORY_REQUEST },
      limits: { cpu: env.BUILD_CPU_LIMIT, memory: env.BUILD_MEMORY_LIMIT },
    },
    contextLimits: { maxBytes: env.CONTEXT_MAX_BYTES, maxEntries: env.CONTEXT_MAX_ENTRIES },
    /**
     * The largest context accepted as uploaded (compressed). Separate from the
     * unpacked limit so that any over-limit context is refused within seconds:
     * data that deflates little needs a whole inflate to show it unpacks past
     * CONTEXT_MAX_BYTES, about 13 ms per compressed MB (bench/inspection.ts).
     */
    maxUploadBytes: env.CONTEXT_MAX_UPLOAD_BYTES,
    retentionDays: env.RECORD_RETENTION_DAYS,
    /** Each record's cost estimate: defaults are Fargate's on-demand Linux/x86 prices in us-east-1. */
    prices: {
      vcpuHour: env.BUILD_PRICE_VCPU_HOUR,
      gibHour: env.BUILD_PRICE_GIB_HOUR,
      currency: env.BUILD_PRICE_CURRENCY,
    },
    defaultDockerfile: env.DEFAULT_DOCKERFILE,
    /** On the local bed: mark Jobs so kwok simulates the build (no container runtime there). */
    simulatedBuilds: env.SIMULATED_BUILDS,
  };
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parse and validate configuration; throws a ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = Env.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "configuration");
      const value = env[name];
      return value === undefined
        ? `${name} is required (${issue.message})`
        : `${name}: ${issue.message} (got "${value}")`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
  }
  return toConfig(result.data);
}

const ClientEnv = z.object({
  AWS_REGION: optionalText(),
  AWS_DEFAULT_REGION: optionalText(),
  AWS_ENDPOINT_URL: z.optional(z.url()),
  BUILDS_TABLE: text(),
  CONTEXTS_BUCKET: text(3),
  CLUSTER_NAME: optionalText(),
  KUBECONFIG_PATH: optionalText(),
  BUILD_NAMESPACE: withDefault("dropbuild"),
  EVENT_BUS_NAME: withDefault("default"),
  DROPBUILD_DLQ_URL: optionalText(),
  DROPBUILD_API_URL: z.optional(z.url()),
  DROPBUILD_TRIGGER_FUNCTION: optionalText(),
  DROPBUILD_LAMBDA_ENDPOINT: z.optional(z.url()),
  MAX_CONCURRENT_BUILDS: int(0, 0),
});

/** What the CLI and dashboard need: where records, contexts and (optionally) the cluster are. */
export interface ClientConfig {
  region: string;
  awsEndpoint?: string;
  buildsTable: string;
  bucket: string;
  cluster?: Config["cluster"];
  namespace: string;
  eventBusName: string;
  deadLetterQueueUrl?: string;
  /** The deployed trigger function, for `dropbuild redrive`. */
  triggerFunction?: string;
  /** Where Lambda's Invoke API answers (the local runtime's port), when not AWS. */
  lambdaEndpoint?: string;
  /** The functions' cap (MAX_CONCURRENT_BUILDS), for the status page's queue; 0: no cap. */
  maxConcurrentBuilds: number;
}

/**
 * Configuration for people's tools, from the same variables the functions use
 * (`dropbuild local env` prints them). Flags given on the command line win.
 */
export function loadClientConfig(
  overrides: Partial<Record<"BUILDS_TABLE" | "CONTEXTS_BUCKET", string>> = {},
  env: Record<string, string | undefined> = process.env,
): ClientConfig {
  const merged = { ...env, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
  const result = ClientEnv.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "configuration");
      const flag = { BUILDS_TABLE: " or --table", CONTEXTS_BUCKET: " or --bucket" }[name] ?? "";
      return merged[name] === undefined
        ? `${name} is required (set it${flag}; \`dropbuild local env\` prints a local setup)`
        : `${name}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
  }
  const e = result.data;
  const region = e.AWS_REGION ?? e.AWS_DEFAULT_REGION;
  if (!region) throw new ConfigError("Invalid configuration: AWS_REGION is required");
  return {
    region,
    awsEndpoint: e.AWS_ENDPOINT_URL,
    buildsTable: e.BUILDS_TABLE,
    bucket: e.CONTEXTS_BUCKET,
    cluster: e.KUBECONFIG_PATH
      ? { kind: "kubeconfig", path: e.KUBECONFIG_PATH }
      : e.CLUSTER_NAME
        ? { kind: "eks", name: e.CLUSTER_NAME }
        : undefined,
    namespace: e.BUILD_NAMESPACE,
    eventBusName: e.EVENT_BUS_NAME,
    deadLetterQueueUrl: e.DROPBUILD_DLQ_URL,
    triggerFunction: e.DROPBUILD_TRIGGER_FUNCTION,
    lambdaEndpoint: e.DROPBUILD_LAMBDA_ENDPOINT,
    maxConcurrentBuilds: e.MAX_CONCURRENT_BUILDS,
  };
}

/** What people's tools read from their environment besides the deployment's variables. */
export interface ToolEnvironment {
  /** NO_COLOR (https://no-color.org): no ANSI colours even on a terminal. */
  noColor: boolean;
  /** Who a cancel from the CLI is recorded as. */
  user?: string;
  /** DROPBUILD_LOCAL_DIR: where `dropbuild local` keeps its state. */
  localDir?: string;
  /** DROPBUILD_LOCAL_QUIET: a `local up` detached into the background prints no live view. */
  localQuiet: boolean;
}

export function toolEnvironment(env: Record<string, string | undefined> = process.env): ToolEnvironment {
  return {
    noColor: Boolean(env.NO_COLOR),
    user: env.USER || undefined,
    localDir: env.DROPBUILD_LOCAL_DIR || undefined,
    localQuiet: Boolean(env.DROPBUILD_LOCAL_QUIET),
  };
}

/** This process's environment with `extra` added: for a child process, or a config read with more variables. */
export function environmentWith(extra: Record<string, string>): Record<string, string | undefined> {
  return { ...process.env, ...extra };
}
