import { existsSync, readFileSync } from "node:fs";
import { runCommand } from "../build/run.js";
import {
  cgroupDirs,
  commandLines,
  HOST_PATHS,
  IPTABLES,
  KUBELET_SYSCTLS,
  mountPoints,
  readSysctl,
  TABLES,
} from "./footprint.js";
import { REAL_NODE } from "./node.js";

/**
 * What the bed could leave behind on the host, read so that two readings can
 * be compared: processes running the bed's binaries, mount points, network
 * links, iptables rules (no counters), the node's cgroups and the sysctls
 * kubelet changes.
 */
export interface HostState {
  processes: string[];
  mounts: string[];
  links: string[];
  rules: string[];
  cgroups: string[];
  sysctls: string[];
  /** Which of the host paths kubelet and containerd use exist. */
  paths: string[];
}

/** Processes whose command line names one of `markers` (the bed's cache and state directories, containerd's shim). */
function processes(markers: string[]): string[] {
  return commandLines()
    .filter(([, cmdline]) => cmdline && markers.some((m) => cmdline.includes(m)))
    .map(([pid, cmdline]) => `${pid} ${cmdline.slice(0, 160)}`)
    .sort();
}

export async function readHostState(markers: string[]): Promise<HostState> {
  const rules: string[] = [];
  for (const tool of IPTABLES) {
    for (const table of TABLES) {
      const out = await runCommand(tool, ["-w", "-t", table, "-S"]).catch(() => "");
      rules.push(
        ...out
          .split("\n")
          .filter(Boolean)
          .map((rule) => `${tool} ${table} ${rule}`),
      );
    }
  }
  const links = (await runCommand("ip", ["-o", "link", "show"]))
    .split("\n")
    .map((line) => line.split(":")[1]?.trim().split("@")[0] ?? "")
    .filter(Boolean)
    .sort();
  return {
    processes: processes([...markers, "containerd-shim"]),
    mounts: mountPoints(readFileSync("/proc/self/mountinfo", "utf8")).sort(),
    links,
    rules: rules.sort(),
    cgroups: cgroupDirs(REAL_NODE.cgroupRoot).sort(),
    paths: HOST_PATHS.filter((path) => existsSync(path)),
    sysctls: KUBELET_SYSCTLS.map((name) => `${name}=${readSysctl(name) ?? "?"}`),
  };
}

/** What `after` has that `before` did not, per kind (empty when the bed left nothing). Pure. */
export function leftovers(before: HostState, after: HostState): Partial<Record<keyof HostState, string[]>> {
  const diff: Partial<Record<keyof HostState, string[]>> = {};
  for (const key of Object.keys(after) as (keyof HostState)[]) {
    const had = new Set(before[key]);
    const extra = after[key].filter((item) => !had.has(item));
    if (extra.length) diff[key] = extra;
  }
  return diff;
}
