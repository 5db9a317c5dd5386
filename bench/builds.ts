import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { BatchV1Api, CoreV1Api, KubeConfig, type V1Job } from "@kubernetes/client-node";
import { x as untar } from "tar";
import type { Progress } from "../bed/build/progress.js";
import { applyRealBuildObjects, realBuildEnvironment } from "../bed/node/deployment.js";
import type { RealNodeInfo } from "../bed/node/node.js";
import { registryTags } from "../bed/node/registry-client.js";
import type { BedInfo } from "../bed/state.js";
import { buildIdFor, jobNameFor } from "../src/build/identity.js";
import type { JobSettings } from "../src/kube/job.js";
import { startReconcileLoop } from "../src/local/reconcile-loop.js";
import { fileLogger } from "../src/log.js";
import { gzip, sampleContext } from "../test/support/tar.js";
import { BuildWatch, type ContainerStatus, kanikoStatus, type Sighting, type WatchedPod } from "./build-watch.js";
import { adminAws, benchDeployment, benchName, startTriggerOnUploads } from "./setup.js";
import { median, percentile } from "./stats.js";

/**
 * The context both kinds build: a base image from the mirror, one COPY, one
 * RUN that pauses for a build arg's fraction of a second. kubelet notices a
 * container's exit at its next one-second relist, so with one fixed build
 * length each kind's exit would land at the same point of that second every
 * time (dropbuild's kaniko starts on a relist, the seed's does not) and the
 * comparison would measure where, not the overhead; builds in the wild vary.
 */
const DOCKERFILE = "FROM busybox:1.35\nCOPY app.txt /app.txt\nARG PAUSE=0\nRUN sleep $PAUSE && echo built\n";
/** Build i of each kind pauses alike: golden-ratio steps spread the pauses evenly over [0, 1) s. */
const pauseFor = (i: number) => ((i * 0.6180339887) % 1).toFixed(2);
/** The local runtime's reconcile schedule: a run, then 2 s, then the next. */
const RECONCILE_EVERY_MS = 2000;
/** Quiet time after each build (and its record), so each build starts on a settled node. */
const SETTLE_MS = 3000;
const BUILD_TIMEOUT_MS = 300_000;
export const NAMESPACE = "dropbuild";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ms = (iso: string | undefined) => (iso ? new Date(iso).getTime() : Number.NaN);

/** One build's moments: client-clock ms unless named as API (whole-second) times. */
export interface Sample {
  /** Upload start (dropbuild) or Job create request start (seed). */
  startedAt: number;
  sighting: Sighting;
  /** The kaniko container's start as the API reports it (running.startedAt, else terminated.startedAt). */
  kanikoStartedApi: number;
  /** Each container's terminated state: when it started and finished (API, whole seconds). */
  ran: Record<string, { started: number; finished: number }>;
  /** When the reconciler had recorded SUCCEEDED (dropbuild only). */
  recordedAt?: number;
}

/**
 * A real-build deployment on the bed, run as the local runtime runs it: the
 * trigger on S3 notifications, the reconciler every 2 s; `env` adds to the
 * bed's real-build configuration.
 */
export async function realDeployment(bed: BedInfo, node: RealNodeInfo, env: Record<string, string> = {}) {
  const deployment = await benchDeployment(bed, { ...realBuildEnvironment(node), MAX_CONCURRENT_BUILDS: "0", ...env });
  await applyRealBuildObjects(bed.kubectl, bed.kubeconfigs.admin, node, NAMESPACE);
  const aws = adminAws(bed);
  const log = (name: string) => fileLogger(`bench-${name}`, join(bed.stateDir, "logs", `bench-${name}.log`));
  const invoker = await startTriggerOnUploads(bed, deployment, log("trigger"));
  const reconciler = startReconcileLoop(deployment.reconcile, { everyMs: RECONCILE_EVERY_MS }, log("reconcile"));
  const s3 = new S3Client(aws);
  const { bucket } = deployment;
  return {
    bucket,
    store: deployment.submit.store,
    job: deployment.submit.settings.job,
    /** Upload a context; the build id and Job name S3's notification will lead to. */
    async upload(key: string, body: Buffer, buildArgs: Record<string, string>) {
      const metadata = { "build-args": JSON.stringify(buildArgs) };
      const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: metadata }));
      const id = buildIdFor({ bucket, key, versionId: out.VersionId, etag: out.ETag });
      return { id, jobName: jobNameFor(id) };
    },
    async stop() {
      await Promise.all([invoker.stop(), reconciler.stop()]);
    },
  };
}

export type RealDeployment = Awaited<ReturnType<typeof realDeployment>>;

/**
 * The seed's Job: what a person writes by hand for kaniko. One container, the
 * same kaniko image, registry Secret, CA and mirror as dropbuild's, and the
 * same resources, reading a context already unpacked on the workspace volume.
 */
function seedJob(name: string, destination: string, settings: JobSettings, pause: string): V1Job {
  const context = "/workspace/seed/context";
  const caFile = "/kaniko/registry-ca/ca.crt";
  const mirror = settings.registryMirror ?? "";
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: NAMESPACE },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: "Never",
          containers: [
            {
              name: "kaniko",
              image: settings.images.kaniko,
              args: [
                `--context=dir://${context}`,
                `--dockerfile=${context}/Dockerfile`,
                `--destination=${destination}`,
                `--registry-mirror=${mirror}`,
                `--registry-certificate=${mirror}=${caFile}`,
                `--build-arg=PAUSE=${pause}`,
              ],
              volumeMounts: [
                { name: "workspace", mountPath: "/workspace" },
                { name: "registry-auth", mountPath: "/kaniko/.docker", readOnly: true },
                { name: "registry-ca", mountPath: "/kaniko/registry-ca", readOnly: true },
              ],
              resources: settings.resources,
            },
          ],
          volumes: [
            { name: "workspace", persistentVolumeClaim: { claimName: settings.workspaceClaim } },
            {
              name: "registry-auth",
              secret: {
                secretName: settings.registrySecret ?? "",
                items: [{ key: ".dockerconfigjson", path: "config.json" }],
              },
            },
            { name: "registry-ca", configMap: { name: settings.registryCaConfigMap ?? "" } },
          ],
        },
      },
    },
  };
}

/** Unpack the context once into the workspace volume's host directory, where the seed's Jobs read it. */
async function stageSeedContext(bed: BedInfo, archive: Buffer): Promise<void> {
  const dir = join(bed.stateDir, "workspace", "seed");
  await mkdir(join(dir, "context"), { recursive: true });
  const file = join(dir, "context.tar.gz");
  await writeFile(file, archive);
  await untar({ file, cwd: join(dir, "context") });
  await rm(file);
}

export function adminClients(bed: BedInfo) {
  const kc = new KubeConfig();
  kc.loadFromFile(bed.kubeconfigs.admin);
  return { batch: kc.makeApiClient(BatchV1Api), core: kc.makeApiClient(CoreV1Api) };
}

export type Clients = ReturnType<typeof adminClients>;

const stateTimes = (status: ContainerStatus | undefined) => status?.state?.terminated;

/** The Job's pod as it ended: its name, the kaniko start, and when each container ran, from the API. */
async function finalPod(clients: Clients, jobName: string, sighting: Sighting) {
  const pods = await clients.core.listNamespacedPod({
    namespace: NAMESPACE,
    labelSelector: `batch.kubernetes.io/job-name=${jobName}`,
  });
  // The typed client turns times into Dates; the shape is otherwise the watch's.
  const pod = JSON.parse(JSON.stringify(pods.items[0] ?? {})) as WatchedPod;
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const ran = Object.fromEntries(
    statuses.map((status) => {
      const terminated = stateTimes(status);
      return [status.name, { started: ms(terminated?.startedAt), finished: ms(terminated?.finishedAt) }];
    }),
  );
  const kanikoStartedApi = ms(sighting.kanikoRunningStartedAt ?? stateTimes(kanikoStatus(pod))?.startedAt);
  return { ran, kanikoStartedApi, podName: pod.metadata?.name ?? "" };
}

async function finished(watch: BuildWatch, jobName: string): Promise<Sighting> {
  const outcome = await watch.finished(jobName, BUILD_TIMEOUT_MS);
  if (outcome !== "complete") throw new Error(`build Job ${jobName} failed`);
  return watch.of(jobName);
}

/** One seed build: create the hand-written Job, wait for Complete. */
async function seedBuild(
  bed: BedInfo,
  clients: Clients,
  watch: BuildWatch,
  settings: JobSettings,
  tag: string,
  pause: string,
) {
  const host = bed.node?.registry.host ?? "";
  const name = benchName("seed");
  const startedAt = Date.now();
  await clients.batch.createNamespacedJob({
    namespace: NAMESPACE,
    body: seedJob(name, `${host}/bench/seed:${tag}`, settings, pause),
  });
  const sighting = await finished(watch, name);
  return { startedAt, sighting, ...(await finalPod(clients, name, sighting)) };
}

/** One dropbuild build of the bench's context: see recordedBuild. */
const dropbuildBuild = (deployment: RealDeployment, clients: Clients, watch: BuildWatch, tag: string, pause: string) =>
  recordedBuild(deployment, clients, watch, `contexts/bench/dropbuild/${tag}.tar.gz`, gzip(sampleContext(DOCKERFILE)), {
    PAUSE: pause,
  });

/** One dropbuild build: upload, then the trigger and the reconciler do the rest; wait for Complete, then the record. */
export async function recordedBuild(
  deployment: RealDeployment,
  clients: Clients,
  watch: BuildWatch,
  key: string,
  archive: Buffer,
  buildArgs: Record<string, string>,
): Promise<Sample & { id: string; jobName: string; podName: string }> {
  const startedAt = Date.now();
  const { id, jobName } = await deployment.upload(key, archive, buildArgs);
  const sighting = await finished(watch, jobName);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const record = await deployment.store.get(id);
    if (record?.status === "SUCCEEDED") break;
    if (record && record.status !== "RUNNING" && record.status !== "QUEUED") {
      throw new Error(`build ${id} recorded ${record.status}: ${record.reason ?? ""}`);
    }
    if (Date.now() > deadline) throw new Error(`build ${id} not recorded SUCCEEDED a minute after its Job completed`);
    await sleep(100);
  }
  const recordedAt = Date.now();
  return { id, jobName, startedAt, sighting, recordedAt, ...(await finalPod(clients, jobName, sighting)) };
}

export interface Segment {
  name: string;
  seedMs: number;
  dropbuildMs: number;
}

export interface BuildsFigures {
  /** Measured builds of each kind (after one warm-up each). */
  builds: number;
  reconcileEveryMs: number;
  /** Upload → kaniko running, with the API's startedAt (whole seconds) and as seen on the watch. */
  toKanikoApi: { p50: number; p95: number };
  toKanikoSeen: { p50: number; p95: number };
  /** The watch showed kaniko already terminated (never running) in this many builds. */
  kanikoOnlyTerminated: number;
  seedCompleteP50: number;
  dropbuildCompleteP50: number;
  /** Means of the same, which the one-second steps move less than medians. */
  seedCompleteMean: number;
  dropbuildCompleteMean: number;
  /** The same, from the Complete condition's lastTransitionTime (whole seconds). */
  seedCompleteApiP50: number;
  dropbuildCompleteApiP50: number;
  dropbuildRecordedP50: number;
  /** Medians per stage, seed beside dropbuild. */
  segments: Segment[];
  /** The pod's timeline from the API's whole-second container times: means (medians of whole seconds say little). */
  podTimeline: Segment[];
  watchRestarts: number;
  seconds: number;
}

const seen = (sample: Sample) => sample.sighting.seenAt;
/** Milliseconds from a build's start to a stage it was seen at (NaN if never seen). */
const until = (sample: Sample, to: number | undefined) => (to ?? Number.NaN) - sample.startedAt;

const SEGMENTS = [
  "start → Job created",
  "Job created → pod scheduled",
  "pod scheduled → kaniko running",
  "kaniko running → Job Complete",
] as const;

/** The stages every build passes, each timed from the one before it (client-clock ms). */
function segmentsOf(sample: Sample): Record<(typeof SEGMENTS)[number], number> {
  const at = seen(sample);
  const created = until(sample, at["job created"]);
  const scheduled = until(sample, at["pod scheduled"]);
  const running = until(sample, at["kaniko running"]);
  return {
    "start → Job created": created,
    "Job created → pod scheduled": scheduled - created,
    "pod scheduled → kaniko running": running - scheduled,
    "kaniko running → Job Complete": until(sample, at.complete) - running,
  };
}

const POD_TIMELINE = [
  "fetch-context runs",
  "fetch-context end → kaniko start",
  "kaniko runs (unpacking the context first)",
  "kaniko end → Job Complete seen",
] as const;

/**
 * A pod's containers one after another, from their terminated states (a
 * gzip context: fetch-context, then kaniko, which unpacks it). A difference
 * of two whole-second times is off by under a second either way, but right
 * on average; the last one mixes a whole-second time with the watch's, so
 * it reads about half a second long, alike for both kinds.
 */
function podTimelineOf(sample: Sample): Record<(typeof POD_TIMELINE)[number], number> {
  const missing = { started: Number.NaN, finished: Number.NaN };
  const fetch = sample.ran["fetch-context"] ?? missing;
  const kaniko = sample.ran.kaniko ?? missing;
  return {
    "fetch-context runs": fetch.finished - fetch.started,
    "fetch-context end → kaniko start": kaniko.started - fetch.finished,
    "kaniko runs (unpacking the context first)": kaniko.finished - kaniko.started,
    "kaniko end → Job Complete seen": (seen(sample).complete ?? Number.NaN) - kaniko.finished,
  };
}

const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
const p50p95 = (values: number[]) => ({ p50: percentile(values, 50), p95: percentile(values, 95) });

function summarize(seed: Sample[], dropbuild: Sample[], watch: BuildWatch, seconds: number): BuildsFigures {
  const complete = (s: Sample) => until(s, seen(s).complete);
  const completeApi = (s: Sample) => ms(s.sighting.completeAt) - s.startedAt;
  const segments = SEGMENTS.map((name) => ({
    name,
    seedMs: median(seed.map((s) => segmentsOf(s)[name])),
    dropbuildMs: median(dropbuild.map((s) => segmentsOf(s)[name])),
  }));
  return {
    builds: dropbuild.length,
    reconcileEveryMs: RECONCILE_EVERY_MS,
    toKanikoApi: p50p95(dropbuild.map((s) => s.kanikoStartedApi - s.startedAt)),
    toKanikoSeen: p50p95(dropbuild.map((s) => until(s, seen(s)["kaniko running"]))),
    kanikoOnlyTerminated: dropbuild.filter((s) => s.sighting.kanikoSeenOnlyTerminated).length,
    seedCompleteP50: median(seed.map(complete)),
    dropbuildCompleteP50: median(dropbuild.map(complete)),
    seedCompleteMean: mean(seed.map(complete)),
    dropbuildCompleteMean: mean(dropbuild.map(complete)),
    seedCompleteApiP50: median(seed.map(completeApi)),
    dropbuildCompleteApiP50: median(dropbuild.map(completeApi)),
    dropbuildRecordedP50: median(dropbuild.map((s) => until(s, s.recordedAt))),
    segments,
    podTimeline: POD_TIMELINE.map((name) => ({
      name,
      seedMs: mean(seed.map((s) => podTimelineOf(s)[name])),
      dropbuildMs: mean(dropbuild.map((s) => podTimelineOf(s)[name])),
    })),
    watchRestarts: watch.restarts,
    seconds,
  };
}

const line = (kind: string, i: number, n: number, s: Sample) =>
  `${kind} ${i === 0 ? "warm-up" : `${i}/${n}`}: kaniko running after ${until(s, seen(s)["kaniko running"]) / 1000} s, ` +
  `Job Complete after ${until(s, seen(s).complete) / 1000} s`;

/**
 * Real builds on the bed's node, one at a time: the seed's bare kaniko Job
 * and dropbuild (upload → trigger → Job → reconciler) alternate, `builds`
 * measured of each after one warm-up each (image pulls).
 */
export async function realBuilds(bed: BedInfo, builds: number, progress: Progress): Promise<BuildsFigures> {
  const node = bed.node;
  if (!node) throw new Error("the builds figure needs a bed with the real node");
  const started = performance.now();
  const deployment = await realDeployment(bed, node);
  const clients = adminClients(bed);
  const watch = await BuildWatch.start(bed.kubeconfigs.admin, NAMESPACE);
  try {
    await stageSeedContext(bed, gzip(sampleContext(DOCKERFILE)));
    const seed: Sample[] = [];
    const dropbuild: Sample[] = [];
    for (let i = 0; i <= builds; i += 1) {
      const s = await seedBuild(bed, clients, watch, deployment.job, String(i), pauseFor(i));
      progress(line("seed", i, builds, s));
      await sleep(SETTLE_MS);
      const d = await dropbuildBuild(deployment, clients, watch, String(i), pauseFor(i));
      progress(line("dropbuild", i, builds, d));
      await sleep(SETTLE_MS);
      if (i === 0) continue;
      seed.push(s);
      dropbuild.push(d);
    }
    await checkPushed(node, builds + 1);
    // Every build's moments, to look into afterwards (the bed's directory lives until its next start).
    await writeFile(join(bed.stateDir, "builds-samples.json"), JSON.stringify({ seed, dropbuild }, null, 1));
    return summarize(seed, dropbuild, watch, (performance.now() - started) / 1000);
  } finally {
    await watch.stop();
    await deployment.stop();
  }
}

/** Ask the registry itself: every build of each kind pushed its tag. */
async function checkPushed(node: RealNodeInfo, expected: number): Promise<void> {
  for (const repository of ["bench/seed", "bench/dropbuild"]) {
    const tags = await registryTags(node, repository);
    if (tags.length !== expected) throw new Error(`${repository} holds ${tags.length} tags, not ${expected}`);
  }
}
