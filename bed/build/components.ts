import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { bedDir, repoRoot, type Versions } from "../paths.js";
import type { GoModuleBuild } from "./go.js";
import { runCommand } from "./run.js";

const STAGING_REPLACE = /^\s*(k8s\.io\/[A-Za-z0-9._-]+)\s*=>\s*\.\/staging\/src\/\1\s*$/;

/**
 * k8s.io/kubernetes replaces its staging modules (k8s.io/api, …) with local
 * paths, which Go ignores in a dependency. Our module pins each one to the
 * release tag that matches the Kubernetes version (v1.36.3 → v0.36.3), taking
 * the list from the module's own go.mod so nothing is hand-typed.
 */
export function stagingReplaces(kubernetesGoMod: string, kubernetesVersion: string): string[] {
  const stagingVersion = kubernetesVersion.replace(/^v1\./, "v0.");
  const replaces: string[] = [];
  for (const line of kubernetesGoMod.split("\n")) {
    const match = STAGING_REPLACE.exec(line);
    if (match?.[1]) replaces.push(`${match[1]} => ${match[1]} ${stagingVersion}`);
  }
  if (replaces.length === 0) {
    throw new Error(`no staging replace directives found in k8s.io/kubernetes@${kubernetesVersion} go.mod`);
  }
  return replaces;
}

async function downloadGoMod(module: string, version: string): Promise<string> {
  const out = await runCommand("go", ["mod", "download", "-json", `${module}@${version}`]);
  const info = JSON.parse(out) as { GoMod?: string; Error?: string };
  if (!info.GoMod) throw new Error(`go mod download ${module}@${version}: ${info.Error ?? "no go.mod"}`);
  return readFile(info.GoMod, "utf8");
}

function goModFile(module: string, requires: string[], replaces: string[] = []): string {
  const lines = [`module ${module}`, "", "go 1.26.0"];
  if (requires.length > 0) lines.push("", "require (", ...requires.map((r) => `\t${r}`), ")");
  if (replaces.length > 0) lines.push("", "replace (", ...replaces.map((r) => `\t${r}`), ")");
  return `${lines.join("\n")}\n`;
}

const KUBE_COMMANDS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"];

function versionLdflags(version: string): string {
  const [major, minor] = version.replace(/^v/, "").split(".");
  const vars = {
    gitVersion: version,
    gitMajor: major ?? "",
    gitMinor: minor ?? "",
    gitTreeState: "clean",
  };
  const flags = ["-s", "-w"];
  for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
    for (const [name, value] of Object.entries(vars)) flags.push(`-X ${pkg}.${name}=${value}`);
  }
  return flags.join(" ");
}

/** A `tools.go` that imports the commands to build, so `go mod tidy` keeps their modules. */
function toolsGo(packages: string[]): string {
  return [
    "//go:build tools",
    "",
    "// Package tools pins the commands the bed builds.",
    "package tools",
    "",
    "import (",
    ...packages.map((p) => `\t_ "${p}"`),
    ")",
    "",
  ].join("\n");
}

/**
 * Commands of k8s.io/kubernetes at one version. The control plane and kubelet
 * are separate builds with their own cache keys, so adding kubelet did not
 * invalidate a control plane that machines had already built.
 */
function kubernetesCommandsBuild(version: string, key: string, commands: string[]): GoModuleBuild {
  const binaries = commands.map((name) => ({ name, pkg: `k8s.io/kubernetes/cmd/${name}` }));
  return {
    key,
    label: `Kubernetes ${version} (${commands.join(", ")})`,
    goMod: async () => {
      const upstream = await downloadGoMod("k8s.io/kubernetes", version);
      return goModFile(
        "dropbuild.dev/bed/kubernetes",
        [`k8s.io/kubernetes ${version}`],
        stagingReplaces(upstream, version),
      );
    },
    files: { "tools.go": toolsGo(binaries.map((b) => b.pkg)) },
    binaries,
    ldflags: versionLdflags(version),
  };
}

export function kubernetesBuild(versions: Versions): GoModuleBuild {
  return kubernetesCommandsBuild(versions.kubernetes, `kubernetes-${versions.kubernetes}`, KUBE_COMMANDS);
}

/** kubelet for the bed's real node, the same version as the control plane. */
export function kubeletBuild(versions: Versions): GoModuleBuild {
  return kubernetesCommandsBuild(versions.kubernetes, `kubelet-${versions.kubernetes}`, ["kubelet"]);
}

export async function etcdBuild(versions: Versions): Promise<GoModuleBuild> {
  const main = await readFile(join(bedDir, "go", "etcd", "main.go"), "utf8");
  return {
    key: `etcd-${versions.etcd}`,
    label: `etcd ${versions.etcd}`,
    goMod: async () => goModFile("dropbuild.dev/bed/etcd", [`go.etcd.io/etcd/server/v3 ${versions.etcd}`]),
    files: { "main.go": main },
    binaries: [{ name: "etcd", pkg: "." }],
    ldflags: "-s -w",
  };
}

export function kwokBuild(versions: Versions): GoModuleBuild {
  return {
    key: `kwok-${versions.kwok}`,
    label: `kwok ${versions.kwok}`,
    goMod: async () => goModFile("dropbuild.dev/bed/kwok", [`sigs.k8s.io/kwok ${versions.kwok}`]),
    files: {
      "tools.go": '//go:build tools\n\npackage tools\n\nimport _ "sigs.k8s.io/kwok/cmd/kwok"\n',
    },
    binaries: [{ name: "kwok", pkg: "sigs.k8s.io/kwok/cmd/kwok" }],
    ldflags: "-s -w",
  };
}

const CONTAINERD_MODULE = "github.com/containerd/containerd/v2";
const CONTAINERD_COMMANDS = ["containerd", "containerd-shim-runc-v2", "ctr"];

/**
 * containerd, its runc shim and ctr for the bed's real node, static (no cgo).
 * The tags leave out the btrfs, devicemapper and zfs snapshotters, which the
 * node does not use.
 */
export function containerdBuild(versions: Versions): GoModuleBuild {
  const version = versions.containerd;
  const binaries = CONTAINERD_COMMANDS.map((name) => ({ name, pkg: `${CONTAINERD_MODULE}/cmd/${name}` }));
  return {
    key: `containerd-${version}`,
    label: `containerd ${version} (${CONTAINERD_COMMANDS.join(", ")})`,
    goMod: async () => goModFile("dropbuild.dev/bed/containerd", [`${CONTAINERD_MODULE} ${version}`]),
    files: { "tools.go": toolsGo(binaries.map((b) => b.pkg)) },
    binaries,
    ldflags: `-s -w -X ${CONTAINERD_MODULE}/version.Version=${version} -X ${CONTAINERD_MODULE}/version.Package=${CONTAINERD_MODULE}`,
    tags: ["no_btrfs", "no_devmapper", "no_zfs"],
    env: { CGO_ENABLED: "0" },
  };
}

const REGISTRY_MODULE = "github.com/distribution/distribution/v3";

/** The CNCF distribution registry: the bed's image registry, and a scratch one while images are assembled. */
export function registryBuild(versions: Versions): GoModuleBuild {
  const version = versions.registry;
  const pkg = `${REGISTRY_MODULE}/cmd/registry`;
  return {
    key: `registry-${version}`,
    label: `distribution registry ${version}`,
    goMod: async () => goModFile("dropbuild.dev/bed/registry", [`${REGISTRY_MODULE} ${version}`]),
    files: { "tools.go": toolsGo([pkg]) },
    binaries: [{ name: "registry", pkg }],
    ldflags: `-s -w -X ${REGISTRY_MODULE}/version.version=${version} -X ${REGISTRY_MODULE}/version.mainpkg=${REGISTRY_MODULE}`,
    env: { CGO_ENABLED: "0" },
  };
}

/** crane assembles the bed's images from layer tarballs (no Docker on the machines the bed runs on). */
export function craneBuild(versions: Versions): GoModuleBuild {
  const version = versions.crane;
  const pkg = "github.com/google/go-containerregistry/cmd/crane";
  return {
    key: `crane-${version}`,
    label: `crane ${version}`,
    goMod: async () => goModFile("dropbuild.dev/bed/crane", [`github.com/google/go-containerregistry ${version}`]),
    files: { "tools.go": toolsGo([pkg]) },
    binaries: [{ name: "crane", pkg }],
    ldflags: `-s -w -X ${pkg}/cmd.Version=${version}`,
    env: { CGO_ENABLED: "0" },
  };
}

/**
 * The pod sandbox's PID 1, our own few lines instead of registry.k8s.io/pause
 * (unreachable here). Keyed by a hash of its source, so an edit rebuilds it.
 */
export async function pauseBuild(): Promise<GoModuleBuild> {
  const main = await readFile(join(bedDir, "go", "pause", "main.go"), "utf8");
  const digest = createHash("sha256").update(main).digest("hex").slice(0, 12);
  return {
    key: `pause-${digest}`,
    label: "pause",
    goMod: async () => goModFile("dropbuild.dev/bed/pause", []),
    files: { "main.go": main },
    binaries: [{ name: "pause", pkg: "." }],
    ldflags: "-s -w",
    env: { CGO_ENABLED: "0" },
  };
}

/**
 * The kaniko source archive kept next to the repository: the module proxy
 * refuses this module and no registry with its image is reachable offline.
 */
export function kanikoSourceArchive(versions: Versions): string {
  return join(repoRoot, "..", "shared", "vendor", "kaniko", `kaniko-${versions.kaniko}-src.tar.gz`);
}

/** Unpacks the kaniko source archive (vendor/ included) into `src`. */
function unpackKanikoSource(versions: Versions): (src: string) => Promise<void> {
  const archive = kanikoSourceArchive(versions);
  return async (src) => {
    if (!existsSync(archive)) {
      throw new Error(
        `kaniko ${versions.kaniko} source archive not found at ${archive}; the bed builds the executor from it ` +
          "(the Go module proxy refuses this module)",
      );
    }
    await runCommand("tar", ["-xzf", archive, "--strip-components=1", "-C", src]);
  };
}

/** How kaniko's own source is built: offline, from its vendor/ directory, static. */
const KANIKO_GO_ENV = { CGO_ENABLED: "0", GOFLAGS: "-mod=vendor -buildvcs=false", GOPROXY: "off" };

/**
 * kaniko's executor and warmer, built offline from that archive with its
 * vendor/ directory, like the upstream image (static, version stamped).
 */
export function kanikoBuild(versions: Versions): GoModuleBuild {
  const version = versions.kaniko;
  return {
    key: `kaniko-${version}-executor-warmer`,
    label: `kaniko ${version} executor and warmer`,
    unpack: unpackKanikoSource(versions),
    binaries: [
      { name: "executor", pkg: "./cmd/executor" },
      { name: "warmer", pkg: "./cmd/warmer" },
    ],
    ldflags: `-s -w -X github.com/osscontainertools/kaniko/pkg/version.version=${version}`,
    env: KANIKO_GO_ENV,
  };
}

/**
 * bed/go/kaniko-untar: kaniko's own tar:// unpacking, as a command the tests
 * run on the host, built inside that same source tree. Keyed by a hash of
 * its source, so an edit rebuilds it.
 */
export async function kanikoUntarBuild(versions: Versions): Promise<GoModuleBuild> {
  const main = await readFile(join(bedDir, "go", "kaniko-untar", "main.go"), "utf8");
  const digest = createHash("sha256").update(main).digest("hex").slice(0, 12);
  const unpackSource = unpackKanikoSource(versions);
  return {
    key: `kaniko-untar-${versions.kaniko}-${digest}`,
    label: `kaniko ${versions.kaniko} unpacker`,
    unpack: async (src) => {
      await unpackSource(src);
      await mkdir(join(src, "cmd", "kaniko-untar"));
      await writeFile(join(src, "cmd", "kaniko-untar", "main.go"), main);
    },
    binaries: [{ name: "kaniko-untar", pkg: "./cmd/kaniko-untar" }],
    ldflags: "-s -w",
    env: KANIKO_GO_ENV,
  };
}
