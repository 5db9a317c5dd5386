import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatElapsed, type Progress } from "./progress.js";
import { runCommand } from "./run.js";

export interface GoBinary {
  /** File name of the binary in the cache. */
  name: string;
  /** Package path to build. */
  pkg: string;
}

interface GoBuildCommon {
  /** Cache key, e.g. `kubernetes-v1.36.3`: one directory per version. */
  key: string;
  /** Human label for progress lines. */
  label: string;
  binaries: GoBinary[];
  ldflags?: string;
  /** Build tags, e.g. containerd's `no_btrfs`, which leaves out a snapshotter the bed does not use. */
  tags?: string[];
  /** Extra environment of `go mod tidy` and `go build` (CGO_ENABLED, GOPROXY, …); overrides ours. */
  env?: Record<string, string>;
}

/** A module of our own that requires the one to build; `go mod tidy` resolves it. */
export interface GoGeneratedModuleBuild extends GoBuildCommon {
  /** Produces the go.mod of our module (may consult the module proxy). */
  goMod: () => Promise<string>;
  /** Extra source files of our module (name → contents). */
  files: Record<string, string>;
}

/**
 * A module whose complete source (vendor/ included) comes from elsewhere, such
 * as a tarball for a module the proxy refuses. Built as it is, without tidying.
 */
export interface GoUnpackedModuleBuild extends GoBuildCommon {
  /** Fills the (empty) source directory. */
  unpack: (src: string) => Promise<void>;
}

export type GoModuleBuild = GoGeneratedModuleBuild | GoUnpackedModuleBuild;

/** Where a build's module source lives, e.g. for files shipped next to a binary. */
export function goBuildSourceDir(build: GoModuleBuild, cache: string): string {
  return join(cache, build.key, "src");
}

/**
 * Build the binaries of one Go module into `<cache>/<key>/bin`, once. A
 * finished build leaves a `.complete` marker, so an interrupted one is redone.
 * Returns name → absolute path.
 */
export async function ensureGoBinaries(
  build: GoModuleBuild,
  cache: string,
  progress: Progress,
): Promise<Record<string, string>> {
  const root = join(cache, build.key);
  const bin = join(root, "bin");
  const paths = Object.fromEntries(build.binaries.map((b) => [b.name, join(bin, b.name)]));
  if (existsSync(join(root, ".complete"))) return paths;

  const started = Date.now();
  progress(`building ${build.label} (first run on this machine; cached afterwards in ${root})`);
  const src = goBuildSourceDir(build, cache);
  await rm(root, { recursive: true, force: true });
  await mkdir(src, { recursive: true });
  const env = { ...process.env, GOFLAGS: "-buildvcs=false", ...build.env };
  if ("unpack" in build) {
    progress(`${build.label}: unpacking source`);
    await build.unpack(src);
  } else {
    await writeFile(join(src, "go.mod"), await build.goMod());
    for (const [name, contents] of Object.entries(build.files)) {
      await writeFile(join(src, name), contents);
    }
    progress(`${build.label}: resolving modules`);
    await runCommand("go", ["mod", "tidy"], { cwd: src, env });
  }

  let compiled = 0;
  const ticker = setInterval(() => {
    progress(`${build.label}: ${compiled} packages compiled, ${formatElapsed(Date.now() - started)}`);
  }, 15_000);
  try {
    const staging = join(root, "bin.partial");
    await mkdir(staging, { recursive: true });
    const args = ["build", "-v", "-o", `${staging}/`];
    if (build.ldflags) args.push(`-ldflags=${build.ldflags}`);
    if (build.tags?.length) args.push(`-tags=${build.tags.join(",")}`);
    args.push(...build.binaries.map((b) => b.pkg));
    await runCommand("go", args, {
      cwd: src,
      env,
      onLine: () => {
        compiled += 1;
      },
    });
    await rename(staging, bin);
  } finally {
    clearInterval(ticker);
  }
  await writeFile(join(root, ".complete"), new Date().toISOString());
  progress(`${build.label}: built in ${formatElapsed(Date.now() - started)}`);
  return paths;
}
