import { createHash } from "node:crypto";
import type { V1Container, V1Job, V1PodSpec, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import type { SourceObject } from "../build/identity.js";
import { contextFormat } from "../build/key.js";
import type { BuildSpec } from "../build/spec.js";

/** Label and annotation names dropbuild puts on its Jobs. */
export const LABELS = {
  buildId: "dropbuild.dev/build-id",
  repository: "dropbuild.dev/repository",
  managedBy: "app.kubernetes.io/managed-by",
  /** Which deployment (stage) owns the Job, so two sharing a namespace never touch each other's. */
  deployment: "dropbuild.dev/deployment",
} as const;
export const ANNOTATIONS = {
  repository: "dropbuild.dev/repository",
  tag: "dropbuild.dev/tag",
  destinations: "dropbuild.dev/destinations",
  bucket: "dropbuild.dev/source-bucket",
  key: "dropbuild.dev/source-key",
  version: "dropbuild.dev/source-version",
  etag: "dropbuild.dev/source-etag",
  /** When the build was queued (upload time); suspended Jobs are released in this order. */
  queuedAt: "dropbuild.dev/queued-at",
  /** When the reconciler released the Job from the queue (absent if it never waited). */
  releasedAt: "dropbuild.dev/released-at",
} as const;
/** Kueue's label naming the LocalQueue a Job is admitted through. */
export const KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name";
/** Holds a finished Job until the reconciler has recorded its outcome (TTL cleanup waits for it). */
export const RECORD_FINALIZER = "dropbuild.dev/record";
export const KANIKO_CONTAINER = "kaniko";
/** The init containers: the first copies the context from S3 to the workspace, the second (plain .tar only) unpacks it. */
export const FETCH_CONTAINER = "fetch-context";
export const UNPACK_CONTAINER = "unpack-context";
const WORKSPACE_MOUNT = "/workspace";
/** Where kaniko unpacks a tar:// context (its fixed build-context directory, in the container's own filesystem). */
const KANIKO_CONTEXT_DIR = "/kaniko/buildcontext";
/** Build args that steer the local bed's simulated builds; never passed to kaniko. */
export const SIMULATION_ARGS = {
  failure: "DROPBUILD_SIMULATE_FAILURE",
  durationMs: "DROPBUILD_SIMULATE_DURATION_MS",
} as const;
const SIMULATION_ARG_NAMES = new Set<string>(Object.values(SIMULATION_ARGS));
/** Where simulated builds run: only kwok's nodes, which carry this taint so that real builds never land there. */
export const SIMULATED_NODES = {
  selector: { type: "kwok" },
  taint: { key: "kwok.x-k8s.io/node", value: "fake", effect: "NoSchedule" },
} as const;
const REGISTRY_CA_DIR = "/kaniko/registry-ca";

export interface JobSettings {
  namespace: string;
  /** The owning deployment's id (its table name); labels every Job. */
  deployment: string;
  images: { kaniko: string; staging: string; unpack: string };
  builderServiceAccount: string;
  workspaceClaim: string;
  registrySecret?: string;
  /** The destination registry host (REGISTRY), which the CA below is trusted for. */
  registry?: string;
  /** kaniko --registry-mirror: Docker Hub base images are pulled from here. */
  registryMirror?: string;
  /** ConfigMap holding `ca.crt`, trusted by kaniko for the registry and the mirror. */
  registryCaConfigMap?: string;
  cacheRepo?: string;
  /**
   * Base images are read from (and warmed into) this directory of the
   * workspace, shared by every node: kaniko's --cache-dir. Absent: off.
   */
  baseImageCache?: string;
  backoffLimit: number;
  deadlineSeconds: number;
  ttlSecondsAfterFinished: number;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  region: string;
  /** Passed to the staging container so it reads from the same S3 endpoint (LocalStack, emulators). */
  awsEndpoint?: string;
  /** Hand admission to Kueue: label Jobs with this LocalQueue (they start suspended; Kueue releases them). */
  kueueQueueName?: string;
  /** Local bed only: label the pod so kwok simulates the build. */
  simulatedBuilds?: boolean;
}

export interface JobRequest {
  buildId: string;
  jobName: string;
  spec: BuildSpec;
  source: SourceObject;
  /** Create the Job suspended (queued behind the concurrency cap). */
  suspend?: boolean;
  /** ISO time the build was queued, kept as an annotation for FIFO release. */
  queuedAt?: string;
}

/** Label values allow [A-Za-z0-9._-], at most 63 characters, alphanumeric at both ends. */
export function labelValue(value: string): string {
  return value
    .replaceAll("/", ".")
    .replace(/[^A-Za-z0-9._-]/g, "-")
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
}

const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

/**
 * Whether a new build's Job starts suspended: with a concurrency cap every
 * Job waits for the reconciler (the only releaser, so concurrent triggers
 * can never exceed the cap between them), and with Kueue for Kueue to admit.
 */
export function startsSuspended(maxConcurrentBuilds: number, settings: Pick<JobSettings, "kueueQueueName">): boolean {
  return maxConcurrentBuilds > 0 || Boolean(settings.kueueQueueName);
}

/**
 * The batch/v1 Job that builds one context:
 *
 *   init "fetch-context"   aws s3api get-object → <workspace>/builds/<id>/context.tar[.gz]  (EFS, any AZ)
 *   init "unpack-context"  plain .tar only: tar -x into <workspace>/builds/<id>/context
 *   "kaniko"               builds from tar://…/context.tar.gz (it unpacks the archive itself) or
 *                          dir://…/context, pushes every destination, and writes the digest to
 *                          /dev/termination-log for the reconciler
 *
 * A gzip context has one init container, not two: kubelet notices a
 * container's exit at its next relist (about a second), so every container
 * more costs a build about a second before kaniko starts. kaniko's tar://
 * reads gzip only, so a plain .tar keeps the busybox unpack step. Both
 * unpackers' reading of the archives the trigger accepts is checked by
 * test/integration/context/kaniko-unpack.test.ts and the hostile corpus.
 *
 * Nothing runs privileged; the pod passes Pod Security "baseline".
 */
export function renderJob(request: JobRequest, settings: JobSettings): V1Job {
  const { buildId, spec, source } = request;
  const buildDir = `${WORKSPACE_MOUNT}/builds/${buildId}`;
  const gzip = contextFormat(source.key)?.compression !== "none";
  const archive = `${buildDir}/context.${gzip ? "tar.gz" : "tar"}`;
  const context = gzip ? kanikoUnpacks(archive) : busyboxUnpacks(archive, `${buildDir}/context`);
  const labels = jobLabels(buildId, spec, settings);
  const { workspaceMount, volumes, kanikoMounts } = jobVolumes(settings);
  const pod = podTemplateMetadata(buildId, labels[LABELS.repository] ?? "", spec, settings);

  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: request.jobName,
      namespace: settings.namespace,
      labels,
      annotations: jobAnnotations(request),
      finalizers: [RECORD_FINALIZER],
    },
    spec: {
      suspend: request.suspend ?? false,
      backoffLimit: settings.backoffLimit,
      activeDeadlineSeconds: settings.deadlineSeconds,
      ttlSecondsAfterFinished: settings.ttlSecondsAfterFinished,
      template: {
        metadata: { labels: pod.labels, annotations: pod.annotations },
        spec: {
          ...builderPodBasics(settings),
          ...pod.placement,
          initContainers: [
            fetchContainer(source, archive, buildDir, spec.pinnedDockerfile, settings, workspaceMount),
            ...(context.unpack ? [unpackContainer(context.unpack, settings, workspaceMount)] : []),
          ],
          containers: [
            kanikoContainer(
              spec,
              context.kaniko,
              dockerfilePath(spec, context.kaniko, buildDir),
              settings,
              kanikoMounts,
            ),
          ],
          volumes,
        },
      },
    },
  };
}

/**
 * What every pod that runs kaniko (a build, the warmer) is run as: never
 * restarted in place, the builder's service account without its API token,
 * the runtime's default seccomp profile.
 */
function builderPodBasics(settings: JobSettings) {
  return {
    restartPolicy: "Never",
    serviceAccountName: settings.builderServiceAccount,
    automountServiceAccountToken: false,
    securityContext: { seccompProfile: { type: "RuntimeDefault" } },
  } satisfies Partial<V1PodSpec>;
}

/** The Job's labels: which build, repository and deployment it is, and Kueue's queue when Kueue admits it. */
function jobLabels(buildId: string, spec: BuildSpec, settings: JobSettings): Record<string, string> {
  const labels: Record<string, string> = {
    [LABELS.buildId]: buildId,
    [LABELS.repository]: labelValue(spec.repository),
    [LABELS.managedBy]: "dropbuild",
    [LABELS.deployment]: labelValue(settings.deployment),
  };
  if (settings.kueueQueueName) labels[KUEUE_QUEUE_LABEL] = settings.kueueQueueName;
  return labels;
}

/** The Job's annotations: the build's spec and source object, unabridged, and when it was queued. */
function jobAnnotations(request: JobRequest): Record<string, string> {
  const { spec, source } = request;
  const annotations: Record<string, string> = {
    [ANNOTATIONS.repository]: spec.repository,
    [ANNOTATIONS.tag]: spec.tag,
    [ANNOTATIONS.destinations]: spec.destinations.join(","),
    [ANNOTATIONS.bucket]: source.bucket,
    [ANNOTATIONS.key]: source.key,
  };
  if (source.versionId) annotations[ANNOTATIONS.version] = source.versionId;
  if (source.etag) annotations[ANNOTATIONS.etag] = source.etag.replaceAll('"', "");
  if (request.queuedAt) annotations[ANNOTATIONS.queuedAt] = request.queuedAt;
  return annotations;
}

/** The workspace for every container; kaniko also gets the registry credentials and CA when configured. */
function jobVolumes(settings: JobSettings): {
  workspaceMount: V1VolumeMount;
  volumes: V1Volume[];
  kanikoMounts: V1VolumeMount[];
} {
  const workspaceMount: V1VolumeMount = { name: "workspace", mountPath: WORKSPACE_MOUNT };
  const volumes: V1Volume[] = [{ name: "workspace", persistentVolumeClaim: { claimName: settings.workspaceClaim } }];
  const kanikoMounts: V1VolumeMount[] = [workspaceMount];
  if (settings.registrySecret) {
    volumes.push({
      name: "registry-auth",
      secret: { secretName: settings.registrySecret, items: [{ key: ".dockerconfigjson", path: "config.json" }] },
    });
    kanikoMounts.push({ name: "registry-auth", mountPath: "/kaniko/.docker", readOnly: true });
  }
  if (settings.registryCaConfigMap) {
    volumes.push({
      name: "registry-ca",
      configMap: { name: settings.registryCaConfigMap, items: [{ key: "ca.crt", path: "ca.crt" }] },
    });
    kanikoMounts.push({ name: "registry-ca", mountPath: REGISTRY_CA_DIR, readOnly: true });
  }
  return { workspaceMount, volumes, kanikoMounts };
}

/**
 * The pod's labels and annotations, and where it may run. Simulated builds
 * go to kwok's nodes only, with what the simulator should make of them.
 */
function podTemplateMetadata(
  buildId: string,
  repositoryLabel: string,
  spec: BuildSpec,
  settings: JobSettings,
): {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  placement: Pick<V1PodSpec, "nodeSelector" | "tolerations">;
} {
  const labels: Record<string, string> = {
    [LABELS.buildId]: buildId,
    [LABELS.repository]: repositoryLabel,
    [LABELS.managedBy]: "dropbuild",
  };
  const annotations: Record<string, string> = {};
  const placement: Pick<V1PodSpec, "nodeSelector" | "tolerations"> = {};
  if (settings.simulatedBuilds) {
    placement.nodeSelector = { ...SIMULATED_NODES.selector };
    placement.tolerations = [{ ...SIMULATED_NODES.taint, operator: "Equal" }];
    Object.assign(labels, { "bed.dropbuild.dev/simulated": "true" });
    // Lets a demo or test steer the simulator: fail this build, or make it run longer.
    const failure = spec.buildArgs[SIMULATION_ARGS.failure];
    if (failure) {
      labels["bed.dropbuild.dev/outcome"] = "fail";
      annotations["bed.dropbuild.dev/message"] = failure;
    }
    const duration = spec.buildArgs[SIMULATION_ARGS.durationMs];
    if (duration && /^\d+$/.test(duration)) annotations["bed.dropbuild.dev/run-ms"] = duration;
  }
  return { labels, annotations, placement };
}

/** Where the fetch step writes the pinned Dockerfile, beside the context (not in it). */
const PINNED_DOCKERFILE = "Dockerfile.pinned";
/** The environment variable that carries the pinned Dockerfile to the fetch step. */
const PINNED_DOCKERFILE_ENV = "DROPBUILD_PINNED_DOCKERFILE";

/**
 * The Dockerfile kaniko reads, by an absolute path (kaniko looks a relative
 * one up in its working directory, the workspace, first): the pinned copy
 * on the workspace when there is one, else the context's own.
 */
function dockerfilePath(spec: BuildSpec, context: ContextPlan["kaniko"], buildDir: string): string {
  return spec.pinnedDockerfile === undefined ? `${context.dir}/${spec.dockerfile}` : `${buildDir}/${PINNED_DOCKERFILE}`;
}

function fetchContainer(
  source: SourceObject,
  archive: string,
  buildDir: string,
  pinnedDockerfile: string | undefined,
  settings: JobSettings,
  mount: V1VolumeMount,
): V1Container {
  const version =
    source.versionId && source.versionId !== "null" ? ` --version-id ${shellQuote(source.versionId)}` : "";
  const env = [{ name: "AWS_REGION", value: settings.region }];
  // Older aws CLIs ignore AWS_ENDPOINT_URL, so an emulator's endpoint is also passed explicitly.
  let endpoint = "";
  if (settings.awsEndpoint) {
    env.push({ name: "AWS_ENDPOINT_URL", value: settings.awsEndpoint });
    endpoint = ` --endpoint-url ${shellQuote(settings.awsEndpoint)}`;
  }
  // The pinned Dockerfile travels in the pod spec (at most 64 KiB) and lands beside the context.
  let pin = "";
  if (pinnedDockerfile !== undefined) {
    // Kubernetes expands $(NAME) in env values and turns $$ into $: doubling every $ keeps the text exact.
    env.push({ name: PINNED_DOCKERFILE_ENV, value: pinnedDockerfile.replaceAll("$", "$$$$") });
    pin = `; printf '%s' "$${PINNED_DOCKERFILE_ENV}" > ${buildDir}/${PINNED_DOCKERFILE}`;
  }
  return {
    name: FETCH_CONTAINER,
    image: settings.images.staging,
    command: ["/bin/sh", "-c"],
    args: [
      `set -eu; rm -rf ${buildDir}; mkdir -p ${buildDir}${pin}; aws${endpoint} s3api get-object --bucket ${shellQuote(source.bucket)} --key ${shellQuote(source.key)}${version} ${archive} >/dev/null`,
    ],
    env,
    volumeMounts: [mount],
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
  };
}

/** Where kaniko reads the context from (its --context and the directory its --dockerfile is in), and who unpacks it. */
interface ContextPlan {
  kaniko: { context: string; dir: string };
  /** A plain .tar: the busybox step unpacks `archive` into `dir` on the workspace. */
  unpack?: { archive: string; dir: string };
}

/** A gzip archive: kaniko's tar:// unpacks it into its own build-context directory. */
function kanikoUnpacks(archive: string): ContextPlan {
  return { kaniko: { context: `tar://${archive}`, dir: KANIKO_CONTEXT_DIR } };
}

/** A plain .tar, which kaniko's tar:// cannot read: busybox unpacks it on the workspace first. */
function busyboxUnpacks(archive: string, dir: string): ContextPlan {
  return { kaniko: { context: `dir://${dir}`, dir }, unpack: { archive, dir } };
}

function unpackContainer(
  { archive, dir }: { archive: string; dir: string },
  settings: JobSettings,
  mount: V1VolumeMount,
): V1Container {
  return {
    name: UNPACK_CONTAINER,
    image: settings.images.unpack,
    command: ["/bin/sh", "-c"],
    args: [`set -eu; mkdir -p ${dir}; tar -xf ${archive} -C ${dir}; rm -f ${archive}`],
    volumeMounts: [mount],
    resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "256Mi" } },
  };
}

/** How kaniko and its warmer reach registries: the mirror, and the CA for the registry and the mirror. */
function registryFlags(settings: JobSettings): string[] {
  const flags: string[] = [];
  if (settings.registryMirror) flags.push(`--registry-mirror=${settings.registryMirror}`);
  if (settings.registryCaConfigMap) {
    const hosts = new Set([settings.registry, settings.registryMirror].map((r) => r?.split("/")[0]).filter(Boolean));
    for (const host of hosts) flags.push(`--registry-certificate=${host}=${REGISTRY_CA_DIR}/ca.crt`);
  }
  return flags;
}

const baseImageCacheDir = (settings: JobSettings) => `${WORKSPACE_MOUNT}/${settings.baseImageCache}`;

/**
 * kaniko's caches. KANIKO_CACHE_REPO: layers in a registry (--cache). The
 * base-image cache: --cache-dir on the workspace, which kaniko reads only
 * with --cache on; without a cache repository, layer caching stays off.
 */
function cacheFlags(settings: JobSettings): string[] {
  const flags: string[] = [];
  if (settings.cacheRepo) flags.push("--cache=true", `--cache-repo=${settings.cacheRepo}`);
  if (settings.baseImageCache) {
    if (!settings.cacheRepo) flags.push("--cache=true", "--cache-run-layers=false", "--cache-copy-layers=false");
    flags.push(`--cache-dir=${baseImageCacheDir(settings)}`);
  }
  return flags;
}

/** Who warms the base-image cache: not a build, so the reconciler's build selector never matches it. */
export const WARMER_MANAGER = "dropbuild-warmer";

/**
 * A Job that fetches base images (pinned by digest) into the workspace's
 * base-image cache with kaniko's warmer, so later builds on any node read
 * them there instead of the registry. One per set of images (the name is
 * their hash): creating it again while it exists is a no-op.
 */
export function renderWarmJob(images: string[], settings: JobSettings): V1Job | undefined {
  if (!settings.baseImageCache || images.length === 0) return undefined;
  const sorted = [...new Set(images)].sort();
  const name = `dropbuild-warm-${createHash("sha256").update(sorted.join("\n")).digest("hex").slice(0, 16)}`;
  const { volumes, kanikoMounts } = jobVolumes(settings);
  const labels = { [LABELS.managedBy]: WARMER_MANAGER, [LABELS.deployment]: labelValue(settings.deployment) };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: settings.namespace, labels },
    spec: {
      backoffLimit: 1,
      activeDeadlineSeconds: 900,
      ttlSecondsAfterFinished: 600,
      template: {
        metadata: { labels },
        spec: {
          ...builderPodBasics(settings),
          containers: [
            {
              name: "warmer",
              image: settings.images.kaniko,
              command: ["/kaniko/warmer"],
              args: [
                `--cache-dir=${baseImageCacheDir(settings)}`,
                ...sorted.map((image) => `--image=${image}`),
                ...registryFlags(settings),
                "--log-format=text",
              ],
              volumeMounts: kanikoMounts,
              resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
            },
          ],
          volumes,
        },
      },
    },
  };
}

function kanikoContainer(
  spec: BuildSpec,
  context: ContextPlan["kaniko"],
  dockerfile: string,
  settings: JobSettings,
  mounts: V1VolumeMount[],
): V1Container {
  const args = [`--context=${context.context}`, `--dockerfile=${dockerfile}`];
  for (const destination of spec.destinations) args.push(`--destination=${destination}`);
  args.push("--digest-file=/dev/termination-log");
  // Plain text: logs archived to S3 and the failure reason in the record carry no terminal colour codes.
  args.push("--log-format=text");
  for (const [name, value] of Object.entries(spec.buildArgs)) {
    if (!SIMULATION_ARG_NAMES.has(name)) args.push(`--build-arg=${name}=${value}`);
  }
  if (spec.target) args.push(`--target=${spec.target}`);
  args.push(...registryFlags(settings));
  args.push(...cacheFlags(settings));
  return {
    name: KANIKO_CONTAINER,
    image: settings.images.kaniko,
    args,
    volumeMounts: mounts,
    resources: settings.resources,
    // On failure the last log lines become the termination message, so the reason reaches the record.
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
}
