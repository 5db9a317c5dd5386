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

export interface GoModuleBuild {
  /** Cache key, e.g. `kubernetes-v1.36.3`: one directory per version. */
  key: string;
  /** Human label for progress lines. */
  label: string;
  /** Produces the go.mod of our module (may consult the module proxy). */
  goMod: () => Promise<string>;
  /** Extra source files of our module (name → contents). */
  files: Record<string, string>;
  binaries: GoBinary[];
  ldflags?: string;
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
  const src = join(root, "src");
  await rm(root, { recursive: true, force: true });
  await mkdir(src, { recursive: true });
  await writeFile(join(src, "go.mod"), await build.goMod());
  for (const [name, contents] of Object.entries(build.files)) {
    await writeFile(join(src, name), contents);
  }
  const env = { ...process.env, GOFLAGS: "-buildvcs=false" };
  progress(`${build.label}: resolving modules`);
  await runCommand("go", ["mod", "tidy"], { cwd: src, env });

  let compiled = 0;
  const ticker = setInterval(() => {
    progress(`${build.label}: ${compiled} packages compiled, ${formatElapsed(Date.now() - started)}`);
  }, 15_000);
  try {
    const staging = join(root, "bin.partial");
    await mkdir(staging, { recursive: true });
    const args = ["build", "-v", "-o", `${staging}/`];
    if (build.ldflags) args.push(`-ldflags=${build.ldflags}`);
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
