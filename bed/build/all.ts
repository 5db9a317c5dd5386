import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { cacheDir, readVersions } from "../paths.js";
import { etcdBuild, kubernetesBuild, kwokBuild } from "./components.js";
import { ensureGoBinaries } from "./go.js";
import { ensureMoto } from "./moto.js";
import type { Progress } from "./progress.js";
import { runCommand } from "./run.js";

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

/** Everything the bed runs, built or installed once per machine. */
export async function ensureBedBinaries(progress: Progress): Promise<BedBinaries> {
  const versions = readVersions();
  const cache = cacheDir();
  const motoPython = await ensureMoto(versions, cache, progress);
  const etcd = await ensureGoBinaries(await etcdBuild(versions), cache, progress);
  const kwok = await ensureGoBinaries(kwokBuild(versions), cache, progress);
  const kube = await ensureGoBinaries(kubernetesBuild(versions), cache, progress);
  const stages = await kwokNodeStages(versions.kwok, cache);
  return {
    etcd: etcd.etcd as string,
    kubeApiserver: kube["kube-apiserver"] as string,
    kubeControllerManager: kube["kube-controller-manager"] as string,
    kubeScheduler: kube["kube-scheduler"] as string,
    kubectl: kube.kubectl as string,
    kwok: kwok.kwok as string,
    kwokNodeStages: stages,
    motoPython,
  };
}
