import { existsSync, readdirSync, readFileSync } from "node:fs";
import { runCommand } from "../build/run.js";
import { cgroupDirs, HOST_PATHS, KUBELET_SYSCTLS } from "./footprint.js";
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
  const found: string[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      if (cmdline && markers.some((m) => cmdline.includes(m))) found.push(`${entry} ${cmdline.slice(0, 160)}`);
    } catch {
      // gone
    }
  }
  return found.sort();
}

export async function readHostState(markers: string[]): Promise<HostState> {
  const rules: string[] = [];
  for (const tool of ["iptables", "ip6tables"]) {
    for (const table of ["filter", "nat", "mangle"]) {
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
    mounts: readFileSync("/proc/self/mountinfo", "utf8")
      .split("\n")
      .map((line) => line.split(" ")[4] ?? "")
      .filter(Boolean)
      .sort(),
    links,
    rules: rules.sort(),
    cgroups: cgroupDirs(REAL_NODE.cgroupRoot).sort(),
    paths: HOST_PATHS.filter((path) => existsSync(path)),
    sysctls: KUBELET_SYSCTLS.map((name) => {
      try {
        return `${name}=${readFileSync(`/proc/sys/${name.replaceAll(".", "/")}`, "utf8").trim()}`;
      } catch {
        return `${name}=?`;
      }
    }),
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
