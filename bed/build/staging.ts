import { existsSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Versions } from "../paths.js";
import { formatElapsed, type Progress } from "./progress.js";
import { runCommand } from "./run.js";

/** One apt source entry, whichever of the two file formats it came from. */
export interface AptSource {
  uris: string[];
  suites: string[];
  components: string[];
}

function deb822Field(paragraph: string, name: string): string[] {
  const match = new RegExp(`^${name}:[ \\t]*(.*)$`, "im").exec(paragraph);
  return match?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
}

/**
 * The `deb` entries of apt source files: one-line `.list` entries and deb822
 * `.sources` paragraphs (skipping `Enabled: no` and deb-src).
 */
export function parseAptSources(text: string): AptSource[] {
  const sources: AptSource[] = [];
  const uncommented = text
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n");
  for (const paragraph of uncommented.split(/\n\s*\n/)) {
    if (/^URIs:/im.test(paragraph)) {
      const enabled = deb822Field(paragraph, "Enabled")[0]?.toLowerCase() !== "no";
      if (enabled && deb822Field(paragraph, "Types").includes("deb")) {
        sources.push({
          uris: deb822Field(paragraph, "URIs"),
          suites: deb822Field(paragraph, "Suites"),
          components: deb822Field(paragraph, "Components"),
        });
      }
      continue;
    }
    for (const line of paragraph.split("\n")) {
      const match = /^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
      if (match?.[1] && match[2]) {
        sources.push({
          uris: [match[1]],
          suites: [match[2]],
          components: (match[3] ?? "").split(/\s+/).filter(Boolean),
        });
      }
    }
  }
  return sources;
}

const DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian";

/**
 * mmdebstrap mirror lines for `suite` (with its -updates and -security
 * suites) taken from this machine's own apt sources, so the staging image
 * comes from the mirror the machine is known to reach. Falls back to
 * deb.debian.org when the machine has no entry for the suite itself.
 */
export function stagingMirrorLines(sources: AptSource[], suite: string): string[] {
  const wanted = [suite, `${suite}-updates`, `${suite}-security`];
  const lines: string[] = [];
  for (const source of sources) {
    if (!source.components.includes("main")) continue;
    for (const s of source.suites.filter((x) => wanted.includes(x))) {
      for (const uri of source.uris) {
        const line = `deb ${uri} ${s} main`;
        if (!lines.includes(line)) lines.push(line);
      }
    }
  }
  if (!lines.some((line) => line.endsWith(` ${suite} main`))) {
    lines.unshift(`deb ${DEFAULT_DEBIAN_MIRROR} ${suite} main`);
  }
  return lines;
}

async function hostAptSources(): Promise<AptSource[]> {
  const files = ["/etc/apt/sources.list"];
  const dir = "/etc/apt/sources.list.d";
  if (existsSync(dir)) {
    for (const name of (await readdir(dir)).sort()) {
      if (name.endsWith(".list") || name.endsWith(".sources")) files.push(join(dir, name));
    }
  }
  const sources: AptSource[] = [];
  for (const file of files.filter((f) => existsSync(f))) sources.push(...parseAptSources(await readFile(file, "utf8")));
  return sources;
}

/**
 * Left out by dpkg while mmdebstrap installs: documentation, manuals and
 * translations (copyright files stay). The setting also stays in the image.
 */
const DPKG_EXCLUDES = [
  "path-exclude=/usr/share/man/*",
  "path-exclude=/usr/share/info/*",
  "path-exclude=/usr/share/locale/*",
  "path-exclude=/usr/share/doc/*",
  "path-include=/usr/share/doc/*/copyright",
];

const AWS_WRAPPER = '#!/bin/sh\nPYTHONPATH=/opt/awscli exec python3 -m awscli "$@"\n';

/** Oldest botocore that reads AWS_ENDPOINT_URL (service-specific endpoints, 1.31.0). */
const MIN_BOTOCORE = [1, 31];

/** Whether a dotted version is at least `minimum` (compared part by part). */
export function versionAtLeast(version: string, minimum: number[]): boolean {
  const parts = version.split(".").map((p) => Number.parseInt(p, 10));
  for (const [i, min] of minimum.entries()) {
    const part = parts[i] ?? 0;
    if (Number.isNaN(part)) return false;
    if (part !== min) return part > min;
  }
  return true;
}

/**
 * The staging image's only layer: a Debian root filesystem (mmdebstrap,
 * minbase + python3 + ca-certificates) with aws CLI v1 from PyPI in
 * /opt/awscli and an `aws` wrapper on PATH. v1, not Debian's awscli 2.9,
 * because it honours AWS_ENDPOINT_URL for every service, including the STS
 * call behind web-identity credentials, which is how pods reach the bed's
 * moto. Built once per machine; returns the layer tarball.
 */
export async function ensureStagingLayer(
  versions: Versions,
  cache: string,
  mmdebstrap: string,
  progress: Progress,
): Promise<string> {
  const root = join(cache, `staging-${versions.stagingDebian}-awscli-${versions.awscli}`);
  const layer = join(root, "layer.tar");
  if (existsSync(join(root, ".complete"))) return layer;

  const started = Date.now();
  const label = `staging root filesystem (Debian ${versions.stagingDebian}, awscli ${versions.awscli})`;
  progress(`building ${label} (first run on this machine; cached afterwards in ${root})`);
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const rootfs = join(root, "rootfs");

  await bootstrapRootfs(versions, mmdebstrap, rootfs, progress);
  progress(`staging: root filesystem ready after ${formatElapsed(Date.now() - started)}`);
  await installAwscli(versions, rootfs);

  // mmdebstrap already emptied apt's lists and caches; /dev is mounted by the
  // runtime, so its device nodes do not belong in a layer
  await rm(join(rootfs, "dev"), { recursive: true, force: true });
  await mkdir(join(rootfs, "dev"));

  progress(`staging: ${await checkAwscli(versions, rootfs)}`);

  const entries = (await readdir(rootfs)).sort();
  await runCommand("tar", ["--numeric-owner", "--sort=name", "-C", rootfs, "-cf", layer, "--", ...entries]);
  await rm(rootfs, { recursive: true, force: true });
  await writeFile(join(root, ".complete"), new Date().toISOString());
  progress(`staging: layer built in ${formatElapsed(Date.now() - started)}`);
  return layer;
}

/** The minimal Debian root filesystem with python3 and CA certificates, from the host's mirrors. */
async function bootstrapRootfs(
  versions: Versions,
  mmdebstrap: string,
  rootfs: string,
  progress: Progress,
): Promise<void> {
  const mirrors = stagingMirrorLines(await hostAptSources(), versions.stagingDebian);
  progress(`staging: mmdebstrap ${mirrors.map((m) => m.replace(/^deb /, "").replace(/ main$/, "")).join(", ")}`);
  await runCommand(mmdebstrap, [
    "--variant=minbase",
    "--include=python3,ca-certificates",
    // merged /usr via symlinks, as Debian's images have it; without the hook
    // mmdebstrap installs usrmerge, which pulls in ~50 MB of perl
    "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
    ...DPKG_EXCLUDES.map((option) => `--dpkgopt=${option}`),
    versions.stagingDebian,
    rootfs,
    ...mirrors,
  ]);
}

/**
 * aws CLI v1 into /opt/awscli, with an `aws` wrapper on PATH. The host's pip
 * installs for the image's interpreter (wheels only, so the host's own Python
 * version does not matter); the image's python compiles the bytecode, which
 * makes `aws` start twice as fast.
 */
async function installAwscli(versions: Versions, rootfs: string): Promise<void> {
  const [pythonVersion, machine] = (
    await runCommand("chroot", [
      rootfs,
      "python3",
      "-c",
      "import platform, sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}', platform.machine())",
    ])
  )
    .trim()
    .split(" ");
  const awscliDir = join(rootfs, "opt", "awscli");
  await runCommand(process.env.DROPBUILD_PYTHON ?? "python3", [
    "-m",
    "pip",
    "install",
    "--disable-pip-version-check",
    "--quiet",
    "--no-compile",
    "--only-binary=:all:",
    `--python-version=${pythonVersion}`,
    "--implementation=cp",
    // glibc 2.17 wheels run on any later glibc; pip 23 would not widen a
    // newer manylinux_2_36 tag to the older ones wheels carry
    `--platform=manylinux2014_${machine}`,
    "--target",
    awscliDir,
    `awscli==${versions.awscli}`,
  ]);
  // console scripts with the host's interpreter in their #! line; examples
  // are only read by `aws help`
  await rm(join(awscliDir, "bin"), { recursive: true, force: true });
  await rm(join(awscliDir, "awscli", "examples"), { recursive: true, force: true });
  const wrapper = join(rootfs, "usr", "local", "bin", "aws");
  await mkdir(join(rootfs, "usr", "local", "bin"), { recursive: true });
  await writeFile(wrapper, AWS_WRAPPER);
  await chmod(wrapper, 0o755);
  await runCommand("chroot", [rootfs, "python3", "-m", "compileall", "-q", "-j", "0", "/opt/awscli"]);
}

/**
 * Refuse a root filesystem whose aws CLI is not the pinned one, or whose
 * botocore ignores AWS_ENDPOINT_URL; returns what `aws --version` printed.
 */
async function checkAwscli(versions: Versions, rootfs: string): Promise<string> {
  const awsVersion = (await runCommand("chroot", [rootfs, "/usr/local/bin/aws", "--version"])).trim();
  const botocore = (
    await runCommand("chroot", [
      rootfs,
      "env",
      "PYTHONPATH=/opt/awscli",
      "python3",
      "-c",
      // awscli now carries botocore inside its own package (awscli/botocore)
      // and aliases the top-level name once awscli is imported
      "import awscli, botocore; print(botocore.__version__)",
    ])
  ).trim();
  if (!awsVersion.startsWith(`aws-cli/${versions.awscli} `)) {
    throw new Error(
      `staging: aws --version printed ${JSON.stringify(awsVersion)}, expected aws-cli/${versions.awscli}`,
    );
  }
  if (!versionAtLeast(botocore, MIN_BOTOCORE)) {
    throw new Error(
      `staging: botocore ${botocore} is older than ${MIN_BOTOCORE.join(".")}, which AWS_ENDPOINT_URL needs`,
    );
  }
  return awsVersion;
}
