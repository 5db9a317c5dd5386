import { runCommand } from "../build/run.js";

/**
 * The bed node's network: one bridge the bed owns, pods on a /24 behind it,
 * and nothing that leads off it. Pods may reach only the bridge address itself,
 * and there only the ports the builds need (registry, AWS emulator); forwarding
 * off the bridge is dropped, nothing is masqueraded, IP forwarding is left as
 * the host has it. All rules live in chains of the bed's own, so removing them
 * is exact.
 */
export interface NodeNetwork {
  bridge: string;
  /** The bridge's own address: the node IP, where the registry and the emulator listen for pods. */
  gateway: string;
  /** CIDR prefix length of the pod subnet. */
  prefix: number;
  subnet: string;
}

export const BED_NETWORK: NodeNetwork = {
  bridge: "dropbuild0",
  gateway: "10.213.0.1",
  prefix: 24,
  subnet: "10.213.0.0/24",
};

/** The chains the bed adds, and the built-in chain each hangs from. */
export const BED_CHAINS = { input: "DROPBUILD-BED-INPUT", forward: "DROPBUILD-BED-FORWARD" } as const;

export type Run = (file: string, args: string[]) => Promise<string>;
const defaultRun: Run = (file, args) => runCommand(file, args);

/** The iptables/ip6tables rules, as argument lists, for the bed's chains. Pure, so it is unit-tested. */
export function firewallRules(network: NodeNetwork, openPorts: number[], family: 4 | 6): string[][] {
  const br = network.bridge;
  const rules: string[][] = [];
  const forward = BED_CHAINS.forward;
  // Pod to pod on the bridge stays possible (bridged frames pass FORWARD when br_netfilter is loaded).
  rules.push(["-A", forward, "-i", br, "-o", br, "-j", "ACCEPT"]);
  rules.push(["-A", forward, "-i", br, "-j", "DROP"]);
  rules.push(["-A", forward, "-o", br, "-j", "DROP"]);
  const input = BED_CHAINS.input;
  rules.push(["-A", input, "-i", br, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"]);
  if (family === 4) {
    for (const port of openPorts) {
      rules.push(["-A", input, "-i", br, "-d", network.gateway, "-p", "tcp", "--dport", String(port), "-j", "ACCEPT"]);
    }
  }
  rules.push(["-A", input, "-i", br, "-j", "DROP"]);
  return rules;
}

const TOOLS = { 4: "iptables", 6: "ip6tables" } as const;
/** Each bed chain with the built-in chain that jumps to it. */
const HOOKS = [
  ["INPUT", BED_CHAINS.input],
  ["FORWARD", BED_CHAINS.forward],
] as const;

async function chainExists(run: Run, tool: string, chain: string): Promise<boolean> {
  return run(tool, ["-w", "-S", chain]).then(
    () => true,
    () => false,
  );
}

/** Create the bridge and the firewall. Idempotent over leftovers: call `removeNetwork` first. */
export async function setUpNetwork(network: NodeNetwork, openPorts: number[], run: Run = defaultRun): Promise<void> {
  await run("ip", ["link", "add", network.bridge, "type", "bridge"]);
  await run("ip", ["addr", "add", `${network.gateway}/${network.prefix}`, "dev", network.bridge]);
  // IPv4 only: no IPv6 address, not even link-local, on the bed's bridge.
  await run("sysctl", ["-q", "-w", `net.ipv6.conf.${network.bridge}.disable_ipv6=1`]).catch(() => "");
  await run("ip", ["link", "set", network.bridge, "up"]);
  for (const family of [4, 6] as const) {
    const tool = TOOLS[family];
    for (const [builtin, chain] of HOOKS) {
      await run(tool, ["-w", "-N", chain]);
      await run(tool, ["-w", "-I", builtin, "1", "-j", chain]);
    }
    for (const rule of firewallRules(network, openPorts, family)) await run(tool, ["-w", ...rule]);
  }
}

/** Remove the bridge and the bed's chains; anything already gone is fine. Returns what it removed. */
export async function removeNetwork(network: NodeNetwork, run: Run = defaultRun): Promise<string[]> {
  const removed: string[] = [];
  for (const family of [4, 6] as const) {
    const tool = TOOLS[family];
    for (const [builtin, chain] of HOOKS) {
      if (!(await chainExists(run, tool, chain))) continue;
      // Every jump to it, however many a killed bed left.
      while (
        await run(tool, ["-w", "-D", builtin, "-j", chain]).then(
          () => true,
          () => false,
        )
      );
      await run(tool, ["-w", "-F", chain]);
      await run(tool, ["-w", "-X", chain]);
      removed.push(`${tool} chain ${chain}`);
    }
  }
  const exists = await run("ip", ["link", "show", network.bridge]).then(
    () => true,
    () => false,
  );
  if (exists) {
    await run("ip", ["link", "delete", network.bridge]);
    removed.push(`bridge ${network.bridge}`);
  }
  return removed;
}

/** The CNI network config containerd gives every pod: the bed's bridge, no masquerade, no default route. */
export function cniConfig(network: NodeNetwork, ipamDataDir: string): Record<string, unknown> {
  return {
    cniVersion: "1.0.0",
    name: "dropbuild-bed",
    plugins: [
      {
        type: "bridge",
        bridge: network.bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: false,
        ipam: {
          type: "host-local",
          dataDir: ipamDataDir,
          // No routes: a pod reaches its own subnet and nothing else, so no packet even leaves it for elsewhere.
          ranges: [[{ subnet: network.subnet, gateway: network.gateway }]],
        },
      },
    ],
  };
}
