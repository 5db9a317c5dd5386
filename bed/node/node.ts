import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { V1Node } from "@kubernetes/client-node";
import bcrypt from "bcryptjs";
import type { BedImages, NodeBinaries } from "../build/all.js";
import type { Progress } from "../build/progress.js";
import { runCommand } from "../build/run.js";
import { writeKubeconfig } from "../kubeconfig.js";
import type { Pki } from "../pki.js";
import { httpOk } from "../probes.js";
import { type Daemon, startDaemon, waitUntilReady } from "../processes.js";
import { containerdConfig, kubeletConfig, nodeLayout, registryConfig, registryHostsToml } from "./config.js";
import { cleanFootprint, createCgroupRoot, type NodeFootprint, readFootprint, recordFootprint } from "./footprint.js";
import { BED_NETWORK, cniConfig, type Run, setUpNetwork } from "./network.js";

/** The real node's name, its registry's address (on the bed's bridge) and the bed's registry account. */
export const REAL_NODE = {
  name: "dropbuild-node",
  zone: "us-east-1c",
  cgroupRoot: "/dropbuild-bed",
  registryPort: 5000,
  registryUser: "dropbuild",
} as const;

export const registryHost = () => `${BED_NETWORK.gateway}:${REAL_NODE.registryPort}`;

/** What the bed says about its real node and registry (part of `bed:up`'s JSON). */
export interface RealNodeInfo {
  name: string;
  ip: string;
  registry: {
    host: string;
    username: string;
    password: string;
    caFile: string;
    /** A docker config.json for the registry, as kaniko's Secret holds it. */
    dockerConfigJson: string;
    /** repo:tag of each image the bed provides, without the host. */
    images: BedImages["images"];
  };
  /** Where pods reach the AWS emulator (the bridge address, the emulator's port). */
  awsEndpointForPods: string;
  /** Registry client for tests and the demo. */
  tools: { crane: string };
  logs: Record<string, string>;
}

const run: Run = (file, args) => runCommand(file, args);

/** The pki entries the node needs, for `makePki`. */
export function nodeCertRequests() {
  return [
    { name: "registry", commonName: "dropbuild-bed-registry", altNames: [`IP:${BED_NETWORK.gateway}`] },
    { name: "kubelet", commonName: REAL_NODE.name, altNames: [`IP:${BED_NETWORK.gateway}`, `DNS:${REAL_NODE.name}`] },
    { name: "node", commonName: `system:node:${REAL_NODE.name}`, organization: "system:nodes" },
  ];
}

/**
 * Before a bed uses the host's single real node: undo what a bed that was
 * killed left behind; refuse, naming it, if another live bed owns the node.
 */
export async function claimHost(
  owner: string,
  progress: Progress,
  alive: (footprint: NodeFootprint) => boolean,
): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      "the bed's real node (kubelet, containerd) needs root; run as root, or set DROPBUILD_BED_REAL_NODE=false for a kwok-only bed",
    );
  }
  const left = readFootprint();
  if (!left) return;
  if (left.owner !== owner && alive(left)) {
    throw new Error(
      `a real node is already running for the bed in ${left.owner}; stop it (DROPBUILD_BED_DIR=${left.owner} npm run bed:down) or set DROPBUILD_BED_REAL_NODE=false`,
    );
  }
  const cleaned = await cleanFootprint(left, run);
  progress(`cleaned up a real node left by ${left.owner}: ${cleaned.join(", ") || "nothing left"}`);
}

export interface NodeStart {
  stateDir: string;
  pki: Pki;
  apiserverUrl: string;
  binaries: NodeBinaries;
  images: BedImages;
  track: (daemon: Daemon) => Promise<Daemon>;
  progress: Progress;
}

/** Record the footprint and create the bridge and firewall: before anything (moto) binds the bridge address. */
export async function prepareNodeNetwork(stateDir: string, podPorts: number[]): Promise<void> {
  await recordFootprint(stateDir, join(stateDir, "node"), REAL_NODE.cgroupRoot, run);
  await setUpNetwork(BED_NETWORK, [REAL_NODE.registryPort, ...podPorts], run);
}

/** What every start step shares: the start settings, the node's layout, and the registry's address and login. */
interface NodeContext {
  start: NodeStart;
  layout: ReturnType<typeof nodeLayout>;
  log: (name: string) => string;
  host: string;
  password: string;
  basicAuth: string;
  /** containerd finds its shim on PATH; kubelet needs iptables, mount and friends from the sbin directories. */
  env: NodeJS.ProcessEnv;
}

/** What the node needs of the control plane: its RBAC, and whether it reports Ready. */
type NodeApi = { ensureNodeRbac: () => Promise<void>; nodeReady: (name: string) => Promise<boolean> };

/** Start the registry, containerd and kubelet; wait until the node is Ready. */
export async function startRealNode(start: NodeStart, api: NodeApi, motoPort: number): Promise<RealNodeInfo> {
  const { stateDir, binaries } = start;
  const layout = nodeLayout(join(stateDir, "node"));
  const log = (name: string) => join(stateDir, "logs", `${name}.log`);
  await makeNodeDirs(layout);
  const password = randomBytes(18).toString("base64url");
  const context: NodeContext = {
    start,
    layout,
    log,
    host: registryHost(),
    password,
    basicAuth: Buffer.from(`${REAL_NODE.registryUser}:${password}`).toString("base64"),
    env: {
      ...process.env,
      PATH: `${join(binaries.containerd, "..")}:/usr/local/sbin:/usr/sbin:/sbin:${process.env.PATH ?? "/usr/bin:/bin"}`,
    },
  };
  await startRegistry(context);
  await startContainerd(context);
  await startKubelet(context, api);
  return nodeInfo(context, motoPort);
}

async function makeNodeDirs(layout: ReturnType<typeof nodeLayout>): Promise<void> {
  for (const dir of [
    layout.containerdRoot,
    layout.containerdState,
    layout.cniConfDir,
    layout.cniDataDir,
    layout.kubeletRoot,
    layout.podLogs,
  ]) {
    await mkdir(dir, { recursive: true });
  }
}

/** The registry, over TLS with an htpasswd login, serving a copy of the machine's seed store of bed images. */
async function startRegistry({ start, host, password, log }: NodeContext): Promise<void> {
  const { stateDir, pki, binaries, images, track, progress } = start;
  progress("starting the registry (TLS, htpasswd) with the bed's images");
  const registryCert = pki.certs.registry;
  if (!registryCert) throw new Error("no registry certificate");
  const storageDir = join(stateDir, "registry");
  // The images were pushed once per machine into a seed store; each bed starts from a copy.
  await cp(images.storageDir, storageDir, { recursive: true });
  const htpasswd = join(stateDir, "registry.htpasswd");
  await writeFile(htpasswd, `${REAL_NODE.registryUser}:${bcrypt.hashSync(password, 10)}\n`);
  const registryYaml = join(stateDir, "registry.yml");
  await writeFile(registryYaml, registryConfig({ address: host, storageDir, tls: registryCert, htpasswd }));
  const registry = await track(
    startDaemon("registry", binaries.registry, ["serve", registryYaml], { log: log("registry") }),
  );
  await waitUntilReady(registry, () => httpOk(`https://${host}/v2/`, { ca: pki.caCert }, [401]), 30_000);
}

/** containerd, trusting and logging in to the bed's registry, with the bed's CNI network. */
async function startContainerd({ start, layout, host, basicAuth, log, env }: NodeContext): Promise<void> {
  const { pki, binaries, images, track, progress } = start;
  progress("starting containerd");
  await mkdir(join(layout.registryHosts, host), { recursive: true });
  await writeFile(join(layout.registryHosts, host, "hosts.toml"), registryHostsToml(host, pki.caCert, basicAuth));
  await writeFile(
    join(layout.cniConfDir, "10-dropbuild-bed.conflist"),
    JSON.stringify(cniConfig(BED_NETWORK, layout.cniDataDir), null, 2),
  );
  await writeFile(
    layout.containerdConfig,
    containerdConfig(layout, {
      runc: binaries.runc,
      cniBinDir: binaries.cniBinDir,
      sandboxImage: `${host}/${images.images.pause}`,
    }),
  );
  const containerd = await track(
    startDaemon("containerd", binaries.containerd, ["--config", layout.containerdConfig, "--log-level", "warn"], {
      log: log("containerd"),
      env,
    }),
  );
  await waitUntilReady(containerd, async () => existsSync(layout.containerdSocket), 30_000);
}

/** kubelet in its own cgroup root, registered as the node with its client certificate; waits until Ready. */
async function startKubelet({ start, layout, log, env }: NodeContext, api: NodeApi): Promise<void> {
  const { stateDir, pki, binaries, track, progress } = start;
  progress("starting kubelet");
  await createCgroupRoot(REAL_NODE.cgroupRoot);
  await api.ensureNodeRbac();
  const nodeCert = pki.certs.node;
  const serving = pki.certs.kubelet;
  if (!nodeCert || !serving) throw new Error("no node certificates");
  const kubeconfig = await writeKubeconfig(
    join(stateDir, "kubelet.kubeconfig"),
    { name: "bed", server: start.apiserverUrl, caFile: pki.caCert },
    `system:node:${REAL_NODE.name}`,
    { clientCertificate: nodeCert.cert, clientKey: nodeCert.key },
  );
  await writeFile(
    layout.kubeletConfig,
    kubeletConfig(layout, {
      nodeIp: BED_NETWORK.gateway,
      caFile: pki.caCert,
      servingCert: serving.cert,
      servingKey: serving.key,
      cgroupRoot: REAL_NODE.cgroupRoot,
    }),
  );
  const kubelet = await track(
    startDaemon(
      "kubelet",
      binaries.kubelet,
      [
        `--config=${layout.kubeletConfig}`,
        `--kubeconfig=${kubeconfig}`,
        `--root-dir=${layout.kubeletRoot}`,
        `--cert-dir=${join(layout.kubeletRoot, "pki")}`,
        `--hostname-override=${REAL_NODE.name}`,
        `--node-ip=${BED_NETWORK.gateway}`,
        `--node-labels=topology.kubernetes.io/zone=${REAL_NODE.zone},node.kubernetes.io/instance-type=bed,type=real`,
        "--v=1",
      ],
      { log: log("kubelet"), env },
    ),
  );
  await waitUntilReady(kubelet, () => api.nodeReady(REAL_NODE.name), 60_000);
}

function nodeInfo({ start, host, password, basicAuth, log }: NodeContext, motoPort: number): RealNodeInfo {
  const dockerConfigJson = JSON.stringify({ auths: { [host]: { auth: basicAuth } } });
  return {
    name: REAL_NODE.name,
    ip: BED_NETWORK.gateway,
    registry: {
      host,
      username: REAL_NODE.registryUser,
      password,
      caFile: start.pki.caCert,
      dockerConfigJson,
      images: start.images.images,
    },
    awsEndpointForPods: `http://${BED_NETWORK.gateway}:${motoPort}`,
    tools: { crane: start.binaries.crane },
    logs: { registry: log("registry"), containerd: log("containerd"), kubelet: log("kubelet") },
  };
}

/** Is a node's Ready condition True? */
export function isReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

/** Undo the node's footprint on the host (after its daemons were stopped). */
export async function stopRealNode(owner: string): Promise<string[]> {
  const footprint = readFootprint();
  if (!footprint || footprint.owner !== owner) return [];
  return cleanFootprint(footprint, run);
}
