import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

/** Repository root: the bed's scripts live in `<root>/bed`. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const bedDir = join(repoRoot, "bed");

const Versions = z.object({
  kubernetes: z.string().regex(/^v1\.\d+\.\d+$/),
  etcd: z.string().regex(/^v3\.\d+\.\d+$/),
  kwok: z.string().regex(/^v\d+\.\d+\.\d+$/),
  moto: z.string().regex(/^\d+\.\d+\.\d+$/),
  containerd: z.string().regex(/^v2\.\d+\.\d+$/),
  registry: z.string().regex(/^v3\.\d+\.\d+$/),
  crane: z.string().regex(/^v\d+\.\d+\.\d+$/),
  kaniko: z.string().regex(/^v\d+\.\d+\.\d+$/),
  awscli: z.string().regex(/^1\.\d+\.\d+$/),
  stagingDebian: z.string().regex(/^[a-z]+$/),
});
export type Versions = z.infer<typeof Versions>;

export function readVersions(): Versions {
  return Versions.parse(JSON.parse(readFileSync(join(bedDir, "versions.json"), "utf8")));
}

/**
 * Built binaries and the moto virtualenv live outside the repository, keyed by
 * version, so they are built once per machine and never committed.
 * Override with DROPBUILD_CACHE_DIR.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.DROPBUILD_CACHE_DIR;
  if (explicit) return resolve(explicit);
  const base = env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  return join(base, "dropbuild", "bed");
}

/** Where a running bed keeps its state (pids, certificates, logs, data). */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.DROPBUILD_BED_DIR ?? join(repoRoot, ".bed", "default"));
}
