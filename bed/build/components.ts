import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { bedDir, type Versions } from "../paths.js";
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
  const lines = [`module ${module}`, "", "go 1.26.0", "", "require (", ...requires.map((r) => `\t${r}`), ")"];
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

export function kubernetesBuild(versions: Versions): GoModuleBuild {
  const version = versions.kubernetes;
  return {
    key: `kubernetes-${version}`,
    label: `Kubernetes ${version} (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl)`,
    goMod: async () => {
      const upstream = await downloadGoMod("k8s.io/kubernetes", version);
      return goModFile(
        "dropbuild.dev/bed/kubernetes",
        [`k8s.io/kubernetes ${version}`],
        stagingReplaces(upstream, version),
      );
    },
    files: {
      "tools.go": [
        "//go:build tools",
        "",
        "// Package tools pins the Kubernetes commands the bed builds.",
        "package tools",
        "",
        "import (",
        ...KUBE_COMMANDS.map((c) => `\t_ "k8s.io/kubernetes/cmd/${c}"`),
        ")",
        "",
      ].join("\n"),
    },
    binaries: KUBE_COMMANDS.map((name) => ({ name, pkg: `k8s.io/kubernetes/cmd/${name}` })),
    ldflags: versionLdflags(version),
  };
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
