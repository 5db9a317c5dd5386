import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { registryConfig } from "../node/config.js";
import { freePort } from "../processes.js";
import { formatElapsed, type Progress } from "./progress.js";
import { runCommand } from "./run.js";

/** What the bed's images are made of, all built or installed beforehand. */
export interface ImageInputs {
  /** The distribution registry binary, run as a scratch registry while assembling. */
  registry: string;
  crane: string;
  kaniko: { executor: string; warmer: string; version: string; nsswitchConf: string };
  pause: string;
  /** Statically linked busybox and its Debian package version (e.g. `1:1.35.0-4+deb12u1+b1`). */
  busybox: { binary: string; debianVersion: string };
  /** The staging image's single layer and the aws CLI version it carries. */
  staging: { layer: string; awscliVersion: string };
  /** Certificates copied into the kaniko image, as the upstream image carries its own. */
  caCertificates: string;
}

/** Image references are `repository:tag` without a registry host. */
export interface BedImages {
  /**
   * A distribution registry's filesystem storage (the `rootdirectory`) holding
   * every image; the bed copies it into its own registry.
   */
  storageDir: string;
  images: { kaniko: string; busybox: string; pause: string; staging: string };
}

/** Bumped whenever what goes into an image changes, so machines rebuild them. */
const IMAGE_RECIPE = 1;
const PAUSE_TAG = "1.0";
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Names from `busybox --list` to link to the binary in /bin: every applet but
 * busybox itself, each once.
 */
export function busyboxAppletLinks(list: string): string[] {
  const names = list
    .split("\n")
    .map((line) => line.trim())
    .filter((name) => name !== "" && name !== "busybox" && !name.includes("/"));
  return [...new Set(names)].sort();
}

/** `1:1.35.0-4+deb12u1+b1` → `1.35`, the tag Docker Hub's busybox images use. */
export function busyboxTag(debianVersion: string): string {
  const match = /^(?:\d+:)?(\d+)\.(\d+)/.exec(debianVersion);
  if (!match) throw new Error(`unexpected busybox package version ${debianVersion}`);
  return `${match[1]}.${match[2]}`;
}

/** The image references the inputs produce. */
export function bedImageNames(inputs: ImageInputs): BedImages["images"] {
  return {
    kaniko: `osscontainertools/kaniko:${inputs.kaniko.version}`,
    busybox: `library/busybox:${busyboxTag(inputs.busybox.debianVersion)}`,
    pause: `dropbuild/pause:${PAUSE_TAG}`,
    staging: `dropbuild/staging:${inputs.staging.awscliVersion}`,
  };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => child.once("exit", () => resolveExit()));
}

/**
 * Run `registry serve` on a free loopback port for the duration of `use`,
 * then stop it (by its pid, via the child handle).
 */
async function withScratchRegistry<T>(
  registry: string,
  storageDir: string,
  workDir: string,
  use: (host: string) => Promise<T>,
): Promise<T> {
  const host = `127.0.0.1:${await freePort()}`;
  const config = join(workDir, "registry.yml");
  await writeFile(config, registryConfig({ address: host, storageDir }));
  const child = spawn(registry, ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString());
    if (output.length > 50) output.shift();
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let failedToStart: Error | undefined;
  child.on("error", (error) => {
    failedToStart = error;
  });
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (failedToStart) throw new Error(`scratch registry ${registry} did not start: ${failedToStart.message}`);
      if (child.exitCode !== null) throw new Error(`scratch registry exited:\n${output.join("")}`);
      const ready = await fetch(`http://${host}/v2/`).then(
        (response) => response.ok,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`scratch registry did not answer on ${host}:\n${output.join("")}`);
      await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    }
    return await use(host);
  } finally {
    if (child.pid !== undefined) {
      child.kill("SIGTERM");
      await exited(child);
    }
  }
}

interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: Record<string, string>;
  workdir?: string;
}

/** One single-layer image: files written into an empty directory, or a ready layer tarball. */
type ImageRecipe = { ref: string; config: ImageConfig } & (
  | { files: (dir: string) => Promise<void> }
  | { tarball: string }
);

const OCI_ARCHITECTURES: Partial<Record<string, string>> = { x64: "amd64", arm64: "arm64" };

/**
 * This machine's platform (`linux/amd64`). An image built on an empty base has
 * none, and containerd will not pull a manifest whose platform does not match.
 */
function hostPlatform(): string {
  const arch = OCI_ARCHITECTURES[process.arch];
  if (!arch) throw new Error(`no image platform for ${process.arch}`);
  return `linux/${arch}`;
}

/**
 * Push one single-layer image: `crane append` onto an empty OCI base, then
 * `crane mutate` for the platform and run settings, then delete the
 * intermediate manifest so the storage holds only the final one.
 */
async function pushImage(crane: string, ref: string, layer: string, config: ImageConfig): Promise<void> {
  const appended = (
    await runCommand(crane, ["append", "--insecure", "--oci-empty-base", "-f", layer, "-t", ref])
  ).trim();
  const args = ["mutate", "--insecure", `--set-platform=${hostPlatform()}`, "-t", ref];
  if (config.entrypoint) args.push(`--entrypoint=${config.entrypoint.join(",")}`);
  if (config.cmd) args.push(`--cmd=${config.cmd.join(",")}`);
  for (const [name, value] of Object.entries(config.env ?? {})) args.push("-e", `${name}=${value}`);
  if (config.workdir) args.push(`--workdir=${config.workdir}`);
  args.push(ref);
  const mutated = (await runCommand(crane, args)).trim();
  if (appended.includes("@") && appended !== mutated) await runCommand(crane, ["delete", "--insecure", appended]);
}

/** Pack a directory's contents as a layer, every file owned by root. */
async function packRootOwned(dir: string, tarball: string): Promise<void> {
  const entries = (await readdir(dir)).sort();
  await runCommand("tar", [
    "--numeric-owner",
    "--owner=0",
    "--group=0",
    "--sort=name",
    "-C",
    dir,
    "-cf",
    tarball,
    "--",
    ...entries,
  ]);
}

/** The upstream image's layout (its deploy/Dockerfile), minus tini and the credential helpers. */
async function kanikoLayer(inputs: ImageInputs, dir: string): Promise<void> {
  const kaniko = join(dir, "kaniko");
  await mkdir(join(kaniko, "ssl", "certs"), { recursive: true });
  await mkdir(join(kaniko, ".docker"));
  await mkdir(join(dir, "etc"));
  await mkdir(join(dir, "workspace"));
  await copyFile(inputs.kaniko.executor, join(kaniko, "executor"));
  // The shared base-image cache is filled by kaniko's warmer, as the upstream image ships it.
  await copyFile(inputs.kaniko.warmer, join(kaniko, "warmer"));
  await copyFile(inputs.caCertificates, join(kaniko, "ssl", "certs", "ca-certificates.crt"));
  await copyFile(inputs.kaniko.nsswitchConf, join(dir, "etc", "nsswitch.conf"));
  // world-writable so kaniko can also run as a non-root user
  await chmod(kaniko, 0o777);
}

async function busyboxLayer(inputs: ImageInputs, dir: string): Promise<void> {
  const bin = join(dir, "bin");
  await mkdir(bin, { recursive: true });
  await copyFile(inputs.busybox.binary, join(bin, "busybox"));
  for (const applet of busyboxAppletLinks(await runCommand(inputs.busybox.binary, ["--list"]))) {
    await symlink("busybox", join(bin, applet));
  }
  await mkdir(join(dir, "etc"));
  await writeFile(
    join(dir, "etc", "passwd"),
    "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
  );
  await writeFile(join(dir, "etc", "group"), "root:x:0:\nnobody:x:65534:\n");
  await mkdir(join(dir, "root"), { mode: 0o700 });
  await mkdir(join(dir, "tmp"));
  await chmod(join(dir, "tmp"), 0o1777);
}

async function pauseLayer(inputs: ImageInputs, dir: string): Promise<void> {
  await copyFile(inputs.pause, join(dir, "pause"));
}

/** Total compressed size of an image (config + layers), from its manifest. */
async function imageSize(crane: string, ref: string): Promise<number> {
  const manifest = JSON.parse(await runCommand(crane, ["manifest", "--insecure", ref])) as {
    config: { size: number };
    layers: { size: number }[];
  };
  return manifest.layers.reduce((sum, layer) => sum + layer.size, manifest.config.size);
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/**
 * The bed's images, assembled with crane in a scratch registry whose storage
 * directory is the result. Once per machine per set of inputs (a `.complete`
 * marker under `<cache>/images-<key>/`); every image has a single layer and
 * the machine's platform.
 */
export async function ensureBedImages(inputs: ImageInputs, cache: string, progress: Progress): Promise<BedImages> {
  const images = bedImageNames(inputs);
  const key = createHash("sha256")
    .update(JSON.stringify({ recipe: IMAGE_RECIPE, images, inputs }))
    .digest("hex")
    .slice(0, 12);
  const root = join(cache, `images-${key}`);
  const storageDir = join(root, "registry");
  const result = { storageDir, images };
  if (existsSync(join(root, ".complete"))) return result;

  const started = Date.now();
  progress(`assembling images ${Object.values(images).join(", ")} (first run on this machine; cached in ${root})`);
  await rm(root, { recursive: true, force: true });
  const work = join(root, "work");
  await mkdir(work, { recursive: true });
  await mkdir(storageDir);

  await withScratchRegistry(inputs.registry, storageDir, work, async (host) => {
    for (const [index, recipe] of imageRecipes(inputs, images).entries()) {
      const stepStarted = Date.now();
      const ref = `${host}/${recipe.ref}`;
      await pushImage(inputs.crane, ref, await layerTarball(recipe, join(work, `layer-${index}`)), recipe.config);
      const size = await imageSize(inputs.crane, ref);
      progress(`image ${recipe.ref}: ${megabytes(size)} compressed, in ${formatElapsed(Date.now() - stepStarted)}`);
    }
  });
  await rm(work, { recursive: true, force: true });
  await writeFile(join(root, ".complete"), new Date().toISOString());
  progress(`images assembled in ${formatElapsed(Date.now() - started)}`);
  return result;
}

/** What goes into each of the bed's images: its single layer and its config. */
function imageRecipes(inputs: ImageInputs, images: BedImages["images"]): ImageRecipe[] {
  return [
    {
      ref: images.kaniko,
      files: (dir) => kanikoLayer(inputs, dir),
      config: {
        entrypoint: ["/kaniko/executor"],
        env: {
          HOME: "/root",
          USER: "root",
          PATH: "/usr/local/bin:/kaniko",
          SSL_CERT_DIR: "/kaniko/ssl/certs",
          DOCKER_CONFIG: "/kaniko/.docker/",
        },
        workdir: "/workspace",
      },
    },
    {
      ref: images.busybox,
      files: (dir) => busyboxLayer(inputs, dir),
      config: { cmd: ["sh"], env: { PATH: DEFAULT_PATH } },
    },
    { ref: images.pause, files: (dir) => pauseLayer(inputs, dir), config: { entrypoint: ["/pause"] } },
    { ref: images.staging, tarball: inputs.staging.layer, config: { cmd: ["/bin/sh"], env: { PATH: DEFAULT_PATH } } },
  ];
}

/** The recipe's layer tarball: given, or its files laid out in `dir` and packed, owned by root, into `<dir>.tar`. */
async function layerTarball(recipe: ImageRecipe, dir: string): Promise<string> {
  if ("tarball" in recipe) return recipe.tarball;
  await mkdir(dir);
  await recipe.files(dir);
  const tarball = `${dir}.tar`;
  await packRootOwned(dir, tarball);
  return tarball;
}
