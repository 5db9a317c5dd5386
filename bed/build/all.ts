import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { cacheDir, readVersions } from "../paths.js";
import { etcdBuild, kubernetesBuild, kwokBuild } from "./components.js";
import { ensureGoBinaries } from "./go.js";
import { type BedImages, ensureBedImages } from "./images.js";
import { withBuildLock } from "./lock.js";
import { ensureMoto } from "./moto.js";
import { ensureNodeGoBinaries, type NodeBinaries, nodeBinaries } from "./node.js";
import type { Progress } from "./progress.js";
import { runCommand } from "./run.js";
import { ensureStagingLayer } from "./staging.js";
import { ensureSystemPackages } from "./system.js";

export type { BedImages } from "./images.js";
export type { NodeBinaries } from "./node.js";

export interface BedBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kwok: string;
  /** kwok's own node stages (initialize, lease heartbeat), from its module. */
  kwokNodeStages: string[];
  motoPython: string;
  /** The real node (kubelet, containerd, runc, CNI) and the registry. */
  node: NodeBinaries;
  /** kaniko, busybox, pause and staging images in a registry storage directory. */
  images: BedImages;
}

/**
 * kwok publishes node lifecycle stages in its module; the bed uses them as
 * they are (copied next to the binary) and adds its own pod stages.
 */
async function kwokNodeStages(kwokVersion: string, cache: string): Promise<string[]> {
  const dir = join(cache, `kwok-${kwokVersion}`, "stages");
  const modDir = (await runCommand("go", ["mod", "download", "-json", `sigs.k8s.io/kwok@${kwokVersion}`])).trim();
  const source = (JSON.parse(modDir) as { Dir: string }).Dir;
  const files = ["node/fast/node-initialize.yaml", "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml"];
  await mkdir(dir, { recursive: true });
  const out: string[] = [];
  for (const file of files) {
    const target = join(dir, file.replaceAll("/", "-"));
    await copyFile(join(source, "kustomize", "stage", file), target);
    out.push(target);
  }
  return out;
}

/**
 * Wait for two independent chains of steps. A failure is reported at once,
 * but the other chain still runs to its end, so no build is left running
 * unobserved when the command exits; then the first failure is thrown.
 */
async function both<A, B>(first: Promise<A>, second: Promise<B>, progress: Progress): Promise<[A, B]> {
  const report = (error: unknown): never => {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    progress(`failed: ${message} (waiting for the steps still running)`);
    throw error;
  };
  const [a, b] = await Promise.allSettled([first.catch(report), second.catch(report)]);
  if (a.status === "rejected") throw a.reason;
  if (b.status === "rejected") throw b.reason;
  return [a.value, b.value];
}

/** Everything the bed runs, built or installed once per machine; one build at a time (see withBuildLock). */
export async function ensureBedBinaries(progress: Progress): Promise<BedBinaries> {
  const cache = cacheDir();
  await mkdir(cache, { recursive: true });
  return withBuildLock(cache, progress, () => buildBedBinaries(cache, progress));
}

async function buildBedBinaries(cache: string, progress: Progress): Promise<BedBinaries> {
  const versions = readVersions();
  // Debian packages, the staging root filesystem and moto's virtualenv are
  // mostly downloads, so they overlap with the Go builds; those run one at a
  // time, each using every core.
  const host = (async () => {
    const system = await ensureSystemPackages(progress);
    const stagingLayer = await ensureStagingLayer(versions, cache, system.mmdebstrap, progress);
    const motoPython = await ensureMoto(versions, cache, progress);
    return { system, stagingLayer, motoPython };
  })();
  const built = (async () => {
    const etcd = await ensureGoBinaries(await etcdBuild(versions), cache, progress);
    const kwok = await ensureGoBinaries(kwokBuild(versions), cache, progress);
    const kube = await ensureGoBinaries(kubernetesBuild(versions), cache, progress);
    const stages = await kwokNodeStages(versions.kwok, cache);
    const node = await ensureNodeGoBinaries(versions, cache, progress);
    return { etcd, kwok, kube, stages, node };
  })();
  const [{ system, stagingLayer, motoPython }, { etcd, kwok, kube, stages, node }] = await both(host, built, progress);
  const images = await ensureBedImages(
    {
      registry: node.registry,
      crane: node.crane,
      kaniko: { ...node.kaniko, version: versions.kaniko },
      pause: node.pause,
      busybox: { binary: system.busyboxStatic, debianVersion: system.busyboxVersion },
      staging: { layer: stagingLayer, awscliVersion: versions.awscli },
      caCertificates: system.caCertificates,
    },
    cache,
    progress,
  );
  return {
    etcd: etcd.etcd as string,
    kubeApiserver: kube["kube-apiserver"] as string,
    kubeControllerManager: kube["kube-controller-manager"] as string,
    kubeScheduler: kube["kube-scheduler"] as string,
    kubectl: kube.kubectl as string,
    kwok: kwok.kwok as string,
    kwokNodeStages: stages,
    motoPython,
    node: nodeBinaries(node, system),
    images,
  };
}
