import { join } from "node:path";
import type { Versions } from "../paths.js";
import { containerdBuild, craneBuild, kanikoBuild, kubeletBuild, pauseBuild, registryBuild } from "./components.js";
import { ensureGoBinaries, goBuildSourceDir } from "./go.js";
import type { Progress } from "./progress.js";
import type { SystemPackages } from "./system.js";

/** What the bed's real Kubernetes node and its registry run, as absolute paths. */
export interface NodeBinaries {
  kubelet: string;
  containerd: string;
  /** containerd finds it on PATH by name; put its directory first on the PATH. */
  containerdShim: string;
  ctr: string;
  runc: string;
  cniBinDir: string;
  iptables: string;
  registry: string;
  crane: string;
}

/** The Go-built part: the node's binaries and the pieces of the bed's images. */
export interface NodeGoBinaries {
  kubelet: string;
  containerd: string;
  containerdShim: string;
  ctr: string;
  registry: string;
  crane: string;
  pause: string;
  kaniko: { executor: string; warmer: string; nsswitchConf: string };
}

/**
 * Build them one after another: every Go build already uses all cores. The
 * small ones the images need come first, kubelet (the largest) last.
 */
export async function ensureNodeGoBinaries(
  versions: Versions,
  cache: string,
  progress: Progress,
): Promise<NodeGoBinaries> {
  const registry = await ensureGoBinaries(registryBuild(versions), cache, progress);
  const crane = await ensureGoBinaries(craneBuild(versions), cache, progress);
  const pause = await ensureGoBinaries(await pauseBuild(), cache, progress);
  const kanikoModule = kanikoBuild(versions);
  const kaniko = await ensureGoBinaries(kanikoModule, cache, progress);
  const containerd = await ensureGoBinaries(containerdBuild(versions), cache, progress);
  const kubelet = await ensureGoBinaries(kubeletBuild(versions), cache, progress);
  return {
    kubelet: kubelet.kubelet as string,
    containerd: containerd.containerd as string,
    containerdShim: containerd["containerd-shim-runc-v2"] as string,
    ctr: containerd.ctr as string,
    registry: registry.registry as string,
    crane: crane.crane as string,
    pause: pause.pause as string,
    kaniko: {
      executor: kaniko.executor as string,
      warmer: kaniko.warmer as string,
      // the upstream image ships it from the source tree's files/
      nsswitchConf: join(goBuildSourceDir(kanikoModule, cache), "files", "nsswitch.conf"),
    },
  };
}

export function nodeBinaries(go: NodeGoBinaries, system: SystemPackages): NodeBinaries {
  return {
    kubelet: go.kubelet,
    containerd: go.containerd,
    containerdShim: go.containerdShim,
    ctr: go.ctr,
    runc: system.runc,
    cniBinDir: system.cniBinDir,
    iptables: system.iptables,
    registry: go.registry,
    crane: go.crane,
  };
}
