import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Progress } from "../bed/build/progress.js";
import { runCommand } from "../bed/build/run.js";
import { BED_NETWORK } from "../bed/node/network.js";
import type { RealNodeInfo } from "../bed/node/node.js";
import { craneIn } from "../bed/node/registry-client.js";
import type { BedInfo } from "../bed/state.js";
import { LABELS, WARMER_MANAGER } from "../src/kube/job.js";
import { gzip, sampleContext, tarArchive } from "../test/support/tar.js";
import { BuildWatch } from "./build-watch.js";
import {
  adminClients,
  type Clients,
  NAMESPACE,
  type RealDeployment,
  realDeployment,
  recordedBuild,
  type Sample,
} from "./builds.js";
import { median } from "./stats.js";

/**
 * Cold vs cached: the same context, FROM a large base image, built with the
 * cache off, with it on but empty for that base (cold), and with it on after
 * the warmer has fetched the base into the workspace (cached).
 *
 * The bed's registry is on the same machine, so a pull costs only a local TLS
 * transfer. To stand for a registry across a network, the bench can limit the
 * bed's bridge (host → pods, which is where every pull from the registry goes)
 * with a token bucket (tc tbf): each rate in `ratesMbit` is run, 0 = no limit.
 * The limit is a stand-in for distance, named as such in every row; the
 * workspace is the bed's local disk, where EFS would be a network file system.
 */

/** The base: busybox and four layers of 5,000 files each, 240 MB of random bytes (they do not compress). */
const BASE = { layers: 4, filesPerLayer: 5000, bytesPerLayer: 60 * 1024 * 1024 } as const;
const BASE_NAME = "bench-cache-base";
/**
 * What an application image adds on a base: metadata, a COPY, a RUN. With
 * --cache on, kaniko snapshots after metadata commands too, so they are
 * part of what the cache costs.
 */
const DOCKERFILE = [
  `FROM ${BASE_NAME}:1`,
  "ENV APP_HOME=/app",
  "WORKDIR /app",
  "COPY app.txt ./",
  "RUN cat app.txt > built.txt && ls /usr/share/bench | wc -l",
  'LABEL org.opencontainers.image.title="bench"',
  "",
].join("\n");
const WARMER_TIMEOUT_MS = 300_000;

export type CacheArm = "off" | "cold" | "cached";

export interface CacheRow {
  /** tbf rate on the bridge, Mbit/s; 0 = no limit. */
  rateMbit: number;
  /** Per arm: upload → Job Complete (watch, ms) and the kaniko container's run (API, whole seconds, ms). */
  arms: Record<CacheArm, { completeMs: number[]; kanikoMs: number[] }>;
  /** How long each warmer Job ran (API, whole seconds, ms): off every build's path. */
  warmerMs: number[];
}

export interface CacheFigures {
  rows: CacheRow[];
  base: { megabytes: number; layers: number; files: number };
  builds: number;
  seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Push the bench's base: busybox plus BASE's layers of random files, built here and appended with crane. */
async function pushLargeBase(node: RealNodeInfo): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dropbuild-bench-base-"));
  try {
    const layers: string[] = [];
    const size = Math.floor(BASE.bytesPerLayer / BASE.filesPerLayer);
    for (let layer = 0; layer < BASE.layers; layer += 1) {
      const root = `./usr/share/bench/${layer}`;
      const entries = [{ path: `${root}/`, type: "Directory" as const }];
      const files = Array.from({ length: BASE.filesPerLayer }, (_, i) => ({
        path: `${root}/${Math.floor(i / 100)}/file-${i}`,
        // Sizes spread from half to one and a half times the mean, as files in a real base vary.
        body: randomBytes(Math.floor(size * (0.5 + ((i * 0.6180339887) % 1)))),
      }));
      const file = join(dir, `layer-${layer}.tar`);
      await writeFile(file, tarArchive([...entries, ...files]));
      layers.push(file);
    }
    const image = `${node.registry.host}/library/${BASE_NAME}:1`;
    const from = `${node.registry.host}/library/busybox:1.35`;
    return await craneIn(node, async (crane) => {
      await crane(["append", "--base", from, "--new_tag", image, ...layers.flatMap((l) => ["--new_layer", l])]);
      return crane(["digest", image]);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Limit what the bed's bridge sends to pods to `rateMbit` (token bucket), or lift the limit (0). */
export async function limitBridge(rateMbit: number): Promise<void> {
  const dev = BED_NETWORK.bridge;
  if (rateMbit === 0) {
    await runCommand("tc", ["qdisc", "del", "dev", dev, "root"]).catch(() => undefined);
    return;
  }
  await runCommand("tc", [
    "qdisc",
    "replace",
    "dev",
    dev,
    "root",
    "tbf",
    "rate",
    `${rateMbit}mbit`,
    "burst",
    "1mb",
    "latency",
    "200ms",
  ]);
}

const arms = (): CacheRow["arms"] => ({
  off: { completeMs: [], kanikoMs: [] },
  cold: { completeMs: [], kanikoMs: [] },
  cached: { completeMs: [], kanikoMs: [] },
});

const kanikoRan = (s: Sample) => (s.ran.kaniko?.finished ?? Number.NaN) - (s.ran.kaniko?.started ?? Number.NaN);
const complete = (s: Sample) => (s.sighting.seenAt.complete ?? Number.NaN) - s.startedAt;

/** The kaniko container's log of a finished build's pod, each line with the time the node saw it. */
const kanikoLog = (clients: Clients, podName: string) =>
  clients.core.readNamespacedPodLog({ name: podName, namespace: NAMESPACE, container: "kaniko", timestamps: true });

const warmerSelector = `${LABELS.managedBy}=${WARMER_MANAGER}`;

/** Wait for the warmer Job the reconciler made after a success; how long its container ran. */
async function warmerDone(clients: Clients): Promise<number> {
  const deadline = Date.now() + WARMER_TIMEOUT_MS;
  for (;;) {
    const jobs = await clients.batch.listNamespacedJob({ namespace: NAMESPACE, labelSelector: warmerSelector });
    const job = jobs.items[0];
    if (job?.status?.failed) throw new Error(`the warmer Job ${job.metadata?.name} failed`);
    if (job?.status?.succeeded) {
      const pods = await clients.core.listNamespacedPod({
        namespace: NAMESPACE,
        labelSelector: `batch.kubernetes.io/job-name=${job.metadata?.name}`,
      });
      const ran = pods.items[0]?.status?.containerStatuses?.[0]?.state?.terminated;
      return (ran?.finishedAt?.getTime() ?? Number.NaN) - (ran?.startedAt?.getTime() ?? Number.NaN);
    }
    if (Date.now() > deadline) throw new Error("no warmer Job completed within 5 minutes of a success");
    await sleep(500);
  }
}

/** Empty the cache for the next cold build: the warmer Job (a no-op while it exists) and the cache directory. */
async function emptyCache(bed: BedInfo, clients: Clients): Promise<void> {
  await clients.batch.deleteCollectionNamespacedJob({
    namespace: NAMESPACE,
    labelSelector: warmerSelector,
    propagationPolicy: "Foreground",
  });
  for (;;) {
    const jobs = await clients.batch.listNamespacedJob({ namespace: NAMESPACE, labelSelector: warmerSelector });
    if (jobs.items.length === 0) break;
    await sleep(500);
  }
  await rm(join(bed.stateDir, "workspace", "cache", "base-images"), { recursive: true, force: true });
}

/**
 * `rates` × `builds` of each arm, one build at a time, after one warm-up
 * build (the node's image pulls): a build with the cache off, then, on a
 * deployment with it on, an empty cache, the cold build, the warmer, the
 * cached build. Each cached build must say kaniko found the base in its
 * cache, and no other build, or the bench fails.
 */
export async function baseCacheFigures(
  bed: BedInfo,
  options: { builds: number; ratesMbit: number[] },
  progress: Progress,
): Promise<CacheFigures> {
  const node = bed.node;
  if (!node) throw new Error("the base-image cache figure needs a bed with the real node");
  await runCommand("tc", ["-V"]).catch(() => {
    throw new Error("the base-image cache figure limits the bed's bridge with tc (iproute2), which is not installed");
  });
  const started = performance.now();
  progress(`base-cache: pushing a ${BASE.layers}-layer base of ${BASE.layers * BASE.filesPerLayer} files`);
  const digest = await pushLargeBase(node);
  const clients = adminClients(bed);
  const watch = await BuildWatch.start(bed.kubeconfigs.admin, NAMESPACE);
  const rows = options.ratesMbit.map((rateMbit) => ({ rateMbit, arms: arms(), warmerMs: [] as number[] }));
  const archive = gzip(sampleContext(DOCKERFILE));
  let n = 0;
  const build = async (deployment: RealDeployment, arm: CacheArm | "warm-up", row?: CacheRow) => {
    n += 1;
    const key = `contexts/bench/cache/${arm}-${n}.tar.gz`;
    const sample = await recordedBuild(deployment, clients, watch, key, archive, {});
    const log = await kanikoLog(clients, sample.podName);
    // Each build's log, to look into afterwards (the bed's directory lives until its next start).
    await mkdir(join(bed.stateDir, "cache-logs"), { recursive: true });
    await writeFile(join(bed.stateDir, "cache-logs", `${n}-${arm}-${row?.rateMbit ?? 0}.log`), log);
    const found = log.includes(`Found ${digest} in local cache`);
    if (found !== (arm === "cached")) {
      throw new Error(`${arm} build ${sample.id}: kaniko ${found ? "found" : "did not find"} the base in its cache`);
    }
    if (row && arm !== "warm-up") {
      row.arms[arm].completeMs.push(complete(sample));
      row.arms[arm].kanikoMs.push(kanikoRan(sample));
    }
    const rate = row ? (row.rateMbit ? `${row.rateMbit} Mbit/s` : "no limit") : "";
    progress(`base-cache ${arm} ${rate}: Job Complete after ${complete(sample) / 1000} s`);
    return sample;
  };
  // Both deployments run side by side (each reconciles only its own Jobs), so the arms alternate build by build.
  const off = await realDeployment(bed, node, { BASE_IMAGE_CACHE: "false" });
  let on: RealDeployment | undefined;
  try {
    on = await realDeployment(bed, node, { BASE_IMAGE_CACHE: "true" });
    await build(off, "warm-up");
    for (const row of rows) {
      await limitBridge(row.rateMbit);
      for (let i = 0; i < options.builds; i += 1) {
        await build(off, "off", row);
        await emptyCache(bed, clients);
        await build(on, "cold", row);
        row.warmerMs.push(await warmerDone(clients));
        await build(on, "cached", row);
      }
    }
  } finally {
    await limitBridge(0);
    await Promise.all([watch.stop(), off.stop(), on?.stop()]);
  }
  return {
    rows,
    base: {
      megabytes: (BASE.layers * BASE.bytesPerLayer) / 1e6,
      layers: BASE.layers,
      files: BASE.layers * BASE.filesPerLayer,
    },
    builds: options.builds,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Medians of one arm's figures. */
export const armMedians = (row: CacheRow, arm: CacheArm) => ({
  completeMs: median(row.arms[arm].completeMs),
  kanikoMs: median(row.arms[arm].kanikoMs),
});
