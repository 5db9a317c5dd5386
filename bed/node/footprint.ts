import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { mkdir, readFile, rm, rmdir, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { BED_NETWORK, type Run, removeNetwork } from "./network.js";

/**
 * What a real node changes on the host beyond its own directory, written down
 * before any of it happens, so that `bed:down` — or the next `bed:up`, after a
 * bed that was killed — can undo exactly that and nothing else.
 */
export interface NodeFootprint {
  /** The bed state directory that owns the node. */
  owner: string;
  /** Everything the node keeps on disk: containerd's root and state, kubelet's root, pod logs, netns mounts. */
  nodeDir: string;
  /** kubelet's --cgroup-root: every pod's cgroup lives below it, in each hierarchy. */
  cgroupRoot: string;
  /** sysctls kubelet sets, with the values they had before. */
  sysctls: Record<string, string>;
  /** iptables chains (per tool, per table) that existed before kubelet added its own KUBE-* chains. */
  chainsBefore: Record<string, string[]>;
  /** Those of HOST_PATHS that existed before; the others were created by the node and go with it. */
  hostPathsBefore: string[];
}

/**
 * Host paths kubelet, containerd and the CNI plugins use whatever their root
 * directories are set to: container log links, containerd's shim sockets,
 * the CNI result cache, kubelet's default directories.
 */
export const HOST_PATHS = [
  "/var/log/containers",
  "/var/log/pods",
  "/run/containerd",
  "/var/lib/cni",
  "/var/lib/kubelet",
  "/run/netns",
  "/var/run/nri",
  "/etc/cni",
  "/opt/cni",
  "/opt/containerd",
];

/** The one machine-wide record: a single real node can run on a host (kubelet's host paths and ports). */
export const FOOTPRINT_FILE = "/run/dropbuild-bed/node.json";

/** sysctls kubelet changes when it starts (protectKernelDefaults: false). */
export const KUBELET_SYSCTLS = [
  "vm.overcommit_memory",
  "vm.panic_on_oom",
  "kernel.panic",
  "kernel.panic_on_oops",
  "kernel.keys.root_maxkeys",
  "kernel.keys.root_maxbytes",
];

const sysctlPath = (name: string) => `/proc/sys/${name.replaceAll(".", "/")}`;
/** A sysctl's current value, or undefined when this kernel has no such setting. */
export function readSysctl(name: string): string | undefined {
  const path = sysctlPath(name);
  return existsSync(path) ? readFileSync(path, "utf8").trim() : undefined;
}
/** The iptables tables and tools kubelet adds chains to (and the bed compares before and after). */
export const TABLES = ["filter", "nat", "mangle"] as const;
export const IPTABLES = ["iptables", "ip6tables"] as const;

export function readFootprint(file = FOOTPRINT_FILE): NodeFootprint | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as NodeFootprint;
}

/** Chain names in one iptables-save table dump (`:NAME POLICY [..]` lines). Pure. */
export function chainNames(save: string): string[] {
  return save
    .split("\n")
    .filter((line) => line.startsWith(":"))
    .map((line) => line.slice(1).split(" ")[0] ?? "")
    .filter(Boolean);
}

async function chainSnapshot(run: Run): Promise<Record<string, string[]>> {
  const snapshot: Record<string, string[]> = {};
  for (const tool of IPTABLES) {
    for (const table of TABLES) {
      const save = await run(`${tool}-save`, ["-t", table]).catch(() => "");
      snapshot[`${tool}/${table}`] = chainNames(save);
    }
  }
  return snapshot;
}

/** Record the host's state before the node touches it. */
export async function recordFootprint(
  owner: string,
  nodeDir: string,
  cgroupRoot: string,
  run: Run,
  file = FOOTPRINT_FILE,
): Promise<NodeFootprint> {
  const sysctls: Record<string, string> = {};
  for (const name of KUBELET_SYSCTLS) {
    const value = readSysctl(name);
    if (value !== undefined) sysctls[name] = value;
  }
  const footprint: NodeFootprint = {
    owner,
    nodeDir,
    cgroupRoot,
    sysctls,
    chainsBefore: await chainSnapshot(run),
    hostPathsBefore: HOST_PATHS.filter((path) => existsSync(path)),
  };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(footprint, null, 2));
  return footprint;
}

/** Every other process's pid and command line (arguments joined by spaces; empty for a zombie). */
export function commandLines(): [number, string][] {
  const found: [number, string][] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      found.push([Number(entry), readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim()]);
    } catch {
      // gone
    }
  }
  return found;
}

/** Pids whose command line names the node's directory (kubelet, containerd, shims), or that sit in its cgroups. */
export function nodeProcesses(footprint: NodeFootprint): number[] {
  const pids = new Set<number>();
  for (const [pid, cmdline] of commandLines()) if (cmdline.includes(footprint.nodeDir)) pids.add(pid);
  for (const dir of cgroupDirs(footprint.cgroupRoot)) {
    try {
      for (const pid of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean))
        pids.add(Number(pid));
    } catch {
      // not there
    }
  }
  return [...pids];
}

/** The mount point of each line of a mountinfo text (field 5; `\040` is a space). Pure. */
export function mountPoints(mountinfo: string, keep: (fields: string[]) => boolean = () => true): string[] {
  return mountinfo
    .split("\n")
    .map((line) => line.split(" "))
    .filter(keep)
    .map((fields) => (fields[4] ?? "").replace(/\\040/g, " "))
    .filter(Boolean);
}

/** Mount points of every cgroup hierarchy (v1 controllers, the named systemd one, v2 unified). */
function cgroupMounts(): string[] {
  return mountPoints(
    readFileSync("/proc/self/mountinfo", "utf8"),
    (fields) => fields.includes("cgroup") || fields.includes("cgroup2"),
  );
}

/**
 * Create the node's cgroup root in every hierarchy (kubelet's cgroupfs driver
 * wants it to exist). A new v1 cpuset group starts with no CPUs or memory
 * nodes, so it gets its parent's.
 */
export async function createCgroupRoot(cgroupRoot: string): Promise<void> {
  for (const mount of new Set(cgroupMounts())) {
    const dir = join(mount, cgroupRoot);
    await mkdir(dir, { recursive: true });
    for (const file of ["cpuset.cpus", "cpuset.mems"]) {
      const parent = join(mount, file);
      if (existsSync(parent) && readFileSync(join(dir, file), "utf8").trim() === "") {
        await writeFile(join(dir, file), readFileSync(parent, "utf8").trim());
      }
    }
  }
}

/** The cgroup directories below the node's root in every mounted hierarchy, deepest first. */
export function cgroupDirs(cgroupRoot: string): string[] {
  const mounts = cgroupMounts();
  const dirs: string[] = [];
  const walk = (dir: string) => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of entries) {
      const child = join(dir, name);
      try {
        if (statSync(child).isDirectory()) walk(child);
      } catch {
        // raced away
      }
    }
    dirs.push(dir);
  };
  for (const mount of new Set(mounts)) {
    const root = join(mount, cgroupRoot);
    if (existsSync(root)) walk(root);
  }
  return dirs;
}

/** Mount points at or below `dir`, deepest first. Pure over a mountinfo text. */
export function mountsBelow(mountinfo: string, dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return mountPoints(mountinfo)
    .filter((point) => point === dir || point.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Undo everything in the footprint: end the node's processes (container
 * processes included), unmount what it mounted, remove its cgroups, its
 * bridge and firewall chains and the chains kubelet added, restore the
 * sysctls kubelet changed, drop its /var/log/containers links and its
 * directory. Safe to run again, and after a bed that was killed.
 */
export async function cleanFootprint(footprint: NodeFootprint, run: Run, file = FOOTPRINT_FILE): Promise<string[]> {
  const done: string[] = [];
  done.push(...(await killNodeProcesses(footprint)));
  let unmounted = await unmountBelow(footprint.nodeDir, run);
  done.push(...(await removeCgroups(footprint.cgroupRoot)));
  done.push(...(await removeNetwork(BED_NETWORK, run)));
  done.push(...(await removeKubeletChains(footprint, run)));
  done.push(...(await restoreSysctls(footprint.sysctls)));
  done.push(...(await removeContainerLogLinks(footprint.nodeDir)));
  done.push(...(await removeHostPaths(footprint.hostPathsBefore)));
  const removal = await removeNodeDir(footprint.nodeDir, run);
  unmounted += removal.unmounted;
  done.push(...removal.notes);
  if (unmounted) done.push(`unmounted ${unmounted} mounts`);
  await unlink(file).catch(() => undefined);
  await rmdir(dirname(file)).catch(() => undefined);
  return done;
}

/** SIGKILL the node's processes, container processes included, until none is left (or 20 rounds). */
async function killNodeProcesses(footprint: NodeFootprint): Promise<string[]> {
  const done: string[] = [];
  for (let round = 0; round < 20; round += 1) {
    const pids = nodeProcesses(footprint);
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    if (round === 0) done.push(`killed ${pids.length} node processes`);
    await sleep(100);
  }
  return done;
}

/**
 * Lazily unmount everything at or below `nodeDir`, in rounds: kubelet
 * bind-mounts its root onto itself (to make it shared), so a point can be
 * mounted more than once. Returns how many unmounts succeeded.
 */
async function unmountBelow(nodeDir: string, run: Run): Promise<number> {
  let unmounted = 0;
  for (let round = 0; round < 10; round += 1) {
    const mounts = mountsBelow(await readFile("/proc/self/mountinfo", "utf8"), nodeDir);
    if (mounts.length === 0) return unmounted;
    for (const point of mounts) {
      await run("umount", ["-l", point]).then(
        () => {
          unmounted += 1;
        },
        () => undefined,
      );
    }
    await sleep(50);
  }
  return unmounted;
}

/** Remove the pods' cgroups below the node's cgroup root, deepest first, in rounds while processes die. */
async function removeCgroups(cgroupRoot: string): Promise<string[]> {
  let removedCgroups = 0;
  for (let round = 0; round < 20; round += 1) {
    const dirs = cgroupDirs(cgroupRoot);
    if (dirs.length === 0) break;
    for (const dir of dirs) {
      await rmdir(dir).then(
        () => {
          removedCgroups += 1;
        },
        () => undefined,
      );
    }
    await sleep(100);
  }
  return removedCgroups ? [`removed ${removedCgroups} cgroups`] : [];
}

/** Put back the sysctls kubelet changed. */
async function restoreSysctls(sysctls: Record<string, string>): Promise<string[]> {
  const done: string[] = [];
  for (const [name, value] of Object.entries(sysctls)) {
    if ((readSysctl(name) ?? value) !== value) {
      await writeFile(sysctlPath(name), value);
      done.push(`restored ${name}=${value}`);
    }
  }
  return done;
}

/** Remove those of HOST_PATHS the node created. */
async function removeHostPaths(hostPathsBefore: string[]): Promise<string[]> {
  const done: string[] = [];
  const before = new Set(hostPathsBefore);
  for (const path of HOST_PATHS.filter((p) => !before.has(p) && existsSync(p))) {
    await rm(path, { recursive: true, force: true });
    done.push(`removed ${path}`);
  }
  return done;
}

/**
 * Remove the node's directory. A mount that appears late (a dying process's
 * last act) is unmounted again before giving up on the directory.
 */
async function removeNodeDir(nodeDir: string, run: Run): Promise<{ unmounted: number; notes: string[] }> {
  let unmounted = 0;
  for (let attempt = 1; ; attempt += 1) {
    try {
      await rm(nodeDir, { recursive: true, force: true });
      return { unmounted, notes: [] };
    } catch (error: unknown) {
      if (attempt >= 5) {
        const reason = error instanceof Error ? error.message : String(error);
        return { unmounted, notes: [`could not remove ${nodeDir}: ${reason}`] };
      }
      await sleep(200);
      unmounted += await unmountBelow(nodeDir, run);
    }
  }
}

async function removeKubeletChains(footprint: NodeFootprint, run: Run): Promise<string[]> {
  const removed: string[] = [];
  for (const tool of IPTABLES) {
    for (const table of TABLES) {
      const before = new Set(footprint.chainsBefore[`${tool}/${table}`] ?? []);
      const save = await run(`${tool}-save`, ["-t", table]).catch(() => "");
      const added = chainNames(save).filter((name) => name.startsWith("KUBE-") && !before.has(name));
      if (added.length === 0) continue;
      // Jumps into the added chains from chains that stay (built-ins), then the chains themselves.
      for (const line of save.split("\n")) {
        const match = /^-A (\S+) (.*-j (KUBE-\S+).*)$/.exec(line);
        if (match?.[1] && match[3] && added.includes(match[3]) && !added.includes(match[1])) {
          await run(tool, ["-w", "-t", table, "-D", match[1], ...splitRule(match[2] ?? "")]).catch(() => "");
        }
      }
      for (const chain of added) await run(tool, ["-w", "-t", table, "-F", chain]).catch(() => "");
      for (const chain of added) {
        await run(tool, ["-w", "-t", table, "-X", chain]).then(
          () => removed.push(`${tool} ${table} chain ${chain}`),
          () => undefined,
        );
      }
    }
  }
  return removed;
}

/** Split an iptables-save rule into arguments, keeping quoted comments whole. Pure. */
export function splitRule(rule: string): string[] {
  const args: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let match = pattern.exec(rule); match; match = pattern.exec(rule)) args.push(match[1] ?? match[2] ?? "");
  return args;
}

async function removeContainerLogLinks(nodeDir: string): Promise<string[]> {
  const dir = "/var/log/containers";
  if (!existsSync(dir)) return [];
  let count = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    try {
      if (readlinkSync(path).startsWith(nodeDir)) {
        await unlink(path);
        count += 1;
      }
    } catch {
      // not a link
    }
  }
  return count ? [`removed ${count} links in ${dir}`] : [];
}
