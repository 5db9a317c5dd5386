import { readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { V1Node } from "@kubernetes/client-node";
import { kubeconfigConnector } from "../src/kube/connect.js";
import { SIMULATED_NODES } from "../src/kube/job.js";
import { kubeRequest, type RestRequest } from "../src/kube/rest.js";
import { type BedBinaries, ensureBedBinaries } from "./build/all.js";
import { formatElapsed, type Progress } from "./build/progress.js";
import { BED_CLUSTER, BED_IDENTITIES, BED_REGION, defaultIamFile } from "./identities.js";
import { writeKubeconfig } from "./kubeconfig.js";
import type { NodeFootprint } from "./node/footprint.js";
import { BED_NETWORK } from "./node/network.js";
import {
  claimHost,
  isReady,
  nodeCertRequests,
  prepareNodeNetwork,
  type RealNodeInfo,
  startRealNode,
  stopRealNode,
} from "./node/node.js";
import { bedDir, readVersions, repoRoot } from "./paths.js";
import { makePki, type Pki } from "./pki.js";
import { httpOk } from "./probes.js";
import { type Daemon, freePort, isAlive, startDaemon, stopDaemon, waitUntilReady } from "./processes.js";
import { type BedInfo, type BedState, readState, writeState } from "./state.js";
import { writeIamFile } from "./webhook/iam-file.js";

const NODES = [
  { name: "kwok-node-a", zone: `${BED_REGION}a` },
  { name: "kwok-node-b", zone: `${BED_REGION}b` },
];

interface Ports {
  etcd: number;
  etcdPeer: number;
  apiserver: number;
  webhook: number;
  moto: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
}

async function allocatePorts(): Promise<Ports> {
  const names = ["etcd", "etcdPeer", "apiserver", "webhook", "moto", "controllerManager", "scheduler", "kwok"] as const;
  const ports = new Set<number>();
  while (ports.size < names.length) ports.add(await freePort());
  const list = [...ports];
  return Object.fromEntries(names.map((name, i) => [name, list[i]])) as unknown as Ports;
}

export interface BedOptions {
  /**
   * Start the real node (kubelet, containerd, runc, CNI bridge) and the
   * registry beside the kwok nodes. Default: true, unless
   * DROPBUILD_BED_REAL_NODE=false (kwok-only beds for scale tests and benchmarks).
   */
  realNode?: boolean;
}

export function realNodeWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.DROPBUILD_BED_REAL_NODE !== "false";
}

/** Is the bed that owns a node footprint still running (its API server alive)? */
function ownerAlive(footprint: NodeFootprint): boolean {
  const owner = readState(footprint.owner);
  const apiserver = owner?.daemons.find((d) => d.name === "kube-apiserver");
  return apiserver !== undefined && isAlive(apiserver.pid);
}

/**
 * Start the whole bed in `stateDir` (wiped first): moto, etcd, the token
 * webhook, kube-apiserver, kube-controller-manager, kube-scheduler, kwok
 * with two simulated nodes in two zones and — unless opted out — a real node
 * and a registry. Waits until each is ready; if one is not, stops the others
 * and throws an error naming it and its log.
 */
export async function bedUp(stateDir: string, progress: Progress, options: BedOptions = {}): Promise<BedInfo> {
  const existing = readState(stateDir);
  if (existing?.daemons.length) await bedDown(stateDir);
  const realNode = options.realNode ?? realNodeWanted();
  if (realNode) await claimHost(stateDir, progress, ownerAlive);

  const binaries = await ensureBedBinaries(progress);
  const started = Date.now();
  await rm(stateDir, { recursive: true, force: true });
  const logs = join(stateDir, "logs");
  await mkdir(logs, { recursive: true });
  const state: BedState = { daemons: [] };
  const track = async (daemon: Daemon) => {
    state.daemons.push({ name: daemon.name, pid: daemon.pid, log: daemon.log, command: daemon.command });
    await writeState(stateDir, state);
    return daemon;
  };
  try {
    const info = await startComponents(stateDir, binaries, track, progress, realNode);
    state.info = info;
    await writeState(stateDir, state);
    progress(`bed ready in ${formatElapsed(Date.now() - started)}`);
    return info;
  } catch (error: unknown) {
    progress("start failed; stopping what was started");
    await bedDown(stateDir);
    throw error;
  }
}

type Track = (daemon: Daemon) => Promise<Daemon>;

async function startComponents(
  stateDir: string,
  bin: BedBinaries,
  track: Track,
  progress: Progress,
  realNode: boolean,
): Promise<BedInfo> {
  const versions = readVersions();
  const ports = await allocatePorts();
  if (realNode) {
    progress(`creating the node's bridge ${BED_NETWORK.bridge} (${BED_NETWORK.subnet}) and its firewall`);
    await prepareNodeNetwork(stateDir, [ports.moto]);
  }
  const log = (name: string) => join(stateDir, "logs", `${name}.log`);
  const apiserverUrl = `https://127.0.0.1:${ports.apiserver}`;
  const awsEndpoint = `http://127.0.0.1:${ports.moto}`;

  progress("making certificates");
  const pki = await makePki(join(stateDir, "pki"), [
    { name: "apiserver", commonName: "kube-apiserver", altNames: serverNames() },
    { name: "webhook", commonName: "dropbuild-bed-webhook", altNames: ["IP:127.0.0.1", "DNS:localhost"] },
    { name: "kwok", commonName: "kwok-kubelet", altNames: ["IP:127.0.0.1", "DNS:localhost"] },
    { name: "admin", commonName: "bed-admin", organization: "system:masters" },
    { name: "controller-manager", commonName: "system:kube-controller-manager" },
    { name: "scheduler", commonName: "system:kube-scheduler" },
    ...(realNode ? nodeCertRequests() : []),
  ]);
  const cluster = { name: BED_CLUSTER, server: apiserverUrl, caFile: pki.caCert };
  const kubeconfig = async (name: string, cert: string) => {
    const files = pki.certs[cert];
    if (!files) throw new Error(`no certificate ${cert}`);
    return writeKubeconfig(join(stateDir, `${name}.kubeconfig`), cluster, name, {
      clientCertificate: files.cert,
      clientKey: files.key,
    });
  };
  const adminKubeconfig = await kubeconfig("admin", "admin");
  const kcmKubeconfig = await kubeconfig("controller-manager", "controller-manager");
  const schedulerKubeconfig = await kubeconfig("scheduler", "scheduler");
  const iamFile = join(stateDir, "iam.json");
  await writeIamFile(iamFile, defaultIamFile());

  progress("starting etcd, moto and the token webhook");
  const etcd = await track(
    startDaemon(
      "etcd",
      bin.etcd,
      [
        "--name=bed",
        `--data-dir=${join(stateDir, "etcd")}`,
        `--listen-client-urls=http://127.0.0.1:${ports.etcd}`,
        `--advertise-client-urls=http://127.0.0.1:${ports.etcd}`,
        `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-cluster=bed=http://127.0.0.1:${ports.etcdPeer}`,
        "--unsafe-no-fsync",
        "--log-level=warn",
      ],
      { log: log("etcd") },
    ),
  );
  const moto = await track(
    startDaemon(
      "moto",
      bin.motoPython,
      [
        join(bedDir, "moto", "launcher.py"),
        `--port=${ports.moto}`,
        `--region=${BED_REGION}`,
        `--cluster=${BED_CLUSTER}`,
        `--cluster-endpoint=${apiserverUrl}`,
        `--cluster-ca-file=${pki.caCert}`,
        `--kubernetes-version=${versions.kubernetes.replace(/^v(\d+\.\d+)\..*$/, "$1")}`,
        // Build pods fetch contexts from it: on the bridge address too (the firewall admits them to this port only).
        ...(realNode ? [`--also-listen=${BED_NETWORK.gateway}`] : []),
      ],
      { log: log("moto") },
    ),
  );
  const webhookCert = pki.certs.webhook;
  if (!webhookCert) throw new Error("no webhook certificate");
  const webhook = await track(
    startDaemon(
      "token-webhook",
      process.execPath,
      [
        "--import",
        "tsx",
        join(bedDir, "webhook", "main.ts"),
        `--port=${ports.webhook}`,
        `--cert=${webhookCert.cert}`,
        `--key=${webhookCert.key}`,
        `--cluster=${BED_CLUSTER}`,
        `--sts-endpoint=${awsEndpoint}`,
        `--iam-file=${iamFile}`,
        `--kubeconfig=${adminKubeconfig}`,
        `--region=${BED_REGION}`,
      ],
      { log: log("token-webhook"), cwd: repoRoot },
    ),
  );
  const webhookKubeconfig = join(stateDir, "webhook.kubeconfig");
  await writeKubeconfig(
    webhookKubeconfig,
    { name: "token-webhook", server: `https://127.0.0.1:${ports.webhook}/authenticate`, caFile: pki.caCert },
    "kube-apiserver",
    {},
  );
  await waitUntilReady(etcd, () => httpOk(`http://127.0.0.1:${ports.etcd}/health`), 30_000);

  progress("starting kube-apiserver");
  const apiserver = await track(
    startDaemon("kube-apiserver", bin.kubeApiserver, apiserverArgs(stateDir, ports, pki, webhookKubeconfig), {
      log: log("kube-apiserver"),
    }),
  );
  const admin = pki.certs.admin;
  await waitUntilReady(
    apiserver,
    () => httpOk(`${apiserverUrl}/readyz`, { ca: pki.caCert, cert: admin?.cert, key: admin?.key }),
    60_000,
  );

  progress("starting kube-controller-manager, kube-scheduler and kwok");
  const componentArgs = (kubeconfigPath: string, port: number) => [
    `--kubeconfig=${kubeconfigPath}`,
    `--authentication-kubeconfig=${kubeconfigPath}`,
    `--authorization-kubeconfig=${kubeconfigPath}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${port}`,
    "--leader-elect=false",
  ];
  const controllerManager = await track(
    startDaemon(
      "kube-controller-manager",
      bin.kubeControllerManager,
      [
        ...componentArgs(kcmKubeconfig, ports.controllerManager),
        `--cert-dir=${join(stateDir, "controller-manager")}`,
        "--use-service-account-credentials=true",
        `--service-account-private-key-file=${pki.serviceAccountKey}`,
        `--root-ca-file=${pki.caCert}`,
        `--cluster-name=${BED_CLUSTER}`,
        // The defaults (20 QPS, 5 Job workers) let the Job controller finish ~1 Job/s once thousands
        // exist; the benchmarks create 10,000. A bed has the API server to itself.
        "--kube-api-qps=300",
        "--kube-api-burst=600",
        "--concurrent-job-syncs=25",
      ],
      { log: log("kube-controller-manager") },
    ),
  );
  const scheduler = await track(
    startDaemon(
      "kube-scheduler",
      bin.kubeScheduler,
      [
        ...componentArgs(schedulerKubeconfig, ports.scheduler),
        `--cert-dir=${join(stateDir, "scheduler")}`,
        "--kube-api-qps=300",
        "--kube-api-burst=600",
      ],
      { log: log("kube-scheduler") },
    ),
  );
  const kwokConfig = join(stateDir, "kwok.yaml");
  const stages = await Promise.all(
    [...bin.kwokNodeStages, join(bedDir, "kwok", "build-pods.yaml")].map((file) => readFile(file, "utf8")),
  );
  await writeFile(kwokConfig, [...stages, simulatedLogs()].join("\n---\n"));
  const kwokCert = pki.certs.kwok;
  if (!kwokCert) throw new Error("no kwok certificate");
  const kwok = await track(
    startDaemon(
      "kwok",
      bin.kwok,
      [
        `--kubeconfig=${adminKubeconfig}`,
        `--config=${kwokConfig}`,
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        "--node-ip=127.0.0.1",
        `--node-port=${ports.kwok}`,
        `--server-address=127.0.0.1:${ports.kwok}`,
        "--cidr=10.244.0.0/16",
        "--node-lease-duration-seconds=40",
        // The API server proxies pods/log to the "kubelet" over TLS; kwok serves it.
        `--tls-cert-file=${kwokCert.cert}`,
        `--tls-private-key-file=${kwokCert.key}`,
      ],
      { log: log("kwok") },
    ),
  );

  // The small REST client the functions use: the full client-node would double the local runtime's memory.
  const connect = kubeconfigConnector(adminKubeconfig);
  const core = async <T>(req: RestRequest) => kubeRequest<T>(await connect(), req);
  for (const node of NODES) {
    await core({ method: "POST", path: "/api/v1/nodes", body: nodeManifest(node.name, node.zone) });
  }
  await core({ method: "POST", path: "/api/v1/persistentvolumes", body: workspaceVolume(join(stateDir, "workspace")) });
  await core({
    method: "POST",
    path: "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
    body: podIdentityWebhook(`https://127.0.0.1:${ports.webhook}/mutate-pods`, pki.caCert),
  });

  await Promise.all([
    waitUntilReady(moto, () => httpOk(`${awsEndpoint}/moto-api/`), 60_000),
    waitUntilReady(webhook, () => httpOk(`https://127.0.0.1:${ports.webhook}/healthz`, { ca: pki.caCert }), 30_000),
    waitUntilReady(controllerManager, () => httpOk(`https://127.0.0.1:${ports.controllerManager}/healthz`), 60_000),
    waitUntilReady(scheduler, () => httpOk(`https://127.0.0.1:${ports.scheduler}/healthz`), 60_000),
    waitUntilReady(
      kwok,
      async () => (await Promise.all(NODES.map((n) => nodeReady(core, n.name)))).every(Boolean),
      60_000,
    ),
  ]);
  // Pods need the namespace's default ServiceAccount, which the controller manager creates.
  await waitUntilReady(
    controllerManager,
    async () =>
      (await core({ method: "GET", path: "/api/v1/namespaces/default/serviceaccounts/default" })) !== undefined,
    60_000,
  );
  await waitUntilReady(moto, async () => motoClusterReady(awsEndpoint), 30_000);

  let node: RealNodeInfo | undefined;
  if (realNode) {
    node = await startRealNode(
      { stateDir, pki, apiserverUrl, binaries: bin.node, images: bin.images, track, progress },
      {
        ensureNodeRbac: async () => {
          await core({
            method: "POST",
            path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            body: nodeRbac(),
          });
        },
        nodeReady: (name) => nodeReady(core, name),
      },
      ports.moto,
    );
  }

  const functionsKubeconfig = await writeKubeconfig(
    join(stateDir, "functions.kubeconfig"),
    cluster,
    "dropbuild-functions",
    {
      exec: {
        command: join(repoRoot, "node_modules", ".bin", "tsx"),
        args: [join(bedDir, "exec-credential.ts"), `--cluster=${BED_CLUSTER}`],
        env: {
          AWS_ACCESS_KEY_ID: BED_IDENTITIES.functions.accessKeyId,
          AWS_SECRET_ACCESS_KEY: BED_IDENTITIES.functions.secretAccessKey,
          AWS_REGION: BED_REGION,
          AWS_ENDPOINT_URL: awsEndpoint,
        },
      },
    },
  );

  return {
    stateDir,
    aws: {
      endpoint: awsEndpoint,
      region: BED_REGION,
      accessKeyId: BED_IDENTITIES.admin.accessKeyId,
      secretAccessKey: BED_IDENTITIES.admin.secretAccessKey,
    },
    cluster: {
      name: BED_CLUSTER,
      endpoint: apiserverUrl,
      caFile: pki.caCert,
      kubernetesVersion: versions.kubernetes,
    },
    kubeconfigs: { admin: adminKubeconfig, functions: functionsKubeconfig },
    identities: BED_IDENTITIES,
    iamFile,
    kubectl: bin.kubectl,
    nodes: NODES.map((n) => n.name),
    node,
    logs: {
      ...Object.fromEntries(
        ["etcd", "moto", "token-webhook", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"].map(
          (name) => [name, log(name)],
        ),
      ),
      ...node?.logs,
    },
  };
}

/** kwok serves this canned builder log (CRI log format) for every build pod's kaniko container. */
function simulatedLogs(): string {
  return [
    "apiVersion: kwok.x-k8s.io/v1alpha1",
    "kind: ClusterLogs",
    "metadata:",
    "  name: simulated-kaniko-logs",
    "spec:",
    "  selector: {}",
    "  logs:",
    "  - containers: [kaniko]",
    `    logsFile: ${join(bedDir, "kwok", "kaniko-build.cri")}`,
    "    follow: false",
  ].join("\n");
}

function serverNames(): string[] {
  return [
    "IP:127.0.0.1",
    "IP:10.96.0.1",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
  ];
}

function apiserverArgs(stateDir: string, ports: Ports, pki: Pki, webhookKubeconfig: string): string[] {
  const serving = pki.certs.apiserver;
  const admin = pki.certs.admin;
  if (!serving || !admin) throw new Error("missing apiserver certificates");
  const issuer = "https://kubernetes.default.svc.cluster.local";
  return [
    `--etcd-servers=http://127.0.0.1:${ports.etcd}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${ports.apiserver}`,
    `--cert-dir=${join(stateDir, "apiserver")}`,
    `--tls-cert-file=${serving.cert}`,
    `--tls-private-key-file=${serving.key}`,
    `--client-ca-file=${pki.caCert}`,
    `--service-account-issuer=${issuer}`,
    `--api-audiences=${issuer}`,
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    "--service-cluster-ip-range=10.96.0.0/16",
    "--authorization-mode=RBAC",
    "--enable-admission-plugins=PodSecurity",
    "--allow-privileged=true",
    `--authentication-token-webhook-config-file=${webhookKubeconfig}`,
    "--authentication-token-webhook-version=v1",
    "--authentication-token-webhook-cache-ttl=10s",
    // pods/log and exec are proxied to kwok, which serves the kubelet API.
    `--kubelet-client-certificate=${admin.cert}`,
    `--kubelet-client-key=${admin.key}`,
    "--kubelet-preferred-address-types=InternalIP",
    "--profiling=false",
  ];
}

function nodeManifest(name: string, zone: string) {
  const resources = { cpu: "32", memory: "128Gi", pods: "110" };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { "kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": "kwok",
        "topology.kubernetes.io/region": BED_REGION,
        "topology.kubernetes.io/zone": zone,
        ...SIMULATED_NODES.selector,
      },
    },
    // Only pods that ask for kwok (simulated builds) land here; real builds go to the real node.
    spec: { taints: [SIMULATED_NODES.taint] },
    status: { allocatable: resources, capacity: resources },
  };
}

async function nodeReady(core: <T>(req: RestRequest) => Promise<T>, name: string): Promise<boolean> {
  return isReady(await core<V1Node>({ method: "GET", path: `/api/v1/nodes/${name}` }));
}

/**
 * The EFS stand-in: a ReadWriteMany volume on the node (this kernel has no NFS
 * client), in the bed's own directory so it goes with the bed. infra/k8s's
 * local overlay binds the workspace claim to it by name.
 */
function workspaceVolume(path: string) {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name: "dropbuild-workspace-local" },
    spec: {
      capacity: { storage: "100Gi" },
      accessModes: ["ReadWriteMany"],
      storageClassName: "dropbuild-efs",
      persistentVolumeReclaimPolicy: "Retain",
      claimRef: { namespace: "dropbuild", name: "dropbuild-workspace" },
      hostPath: { path, type: "DirectoryOrCreate" },
    },
  };
}

/** The bed's API server authorizes with RBAC only (no Node authorizer): kubelets need system:node. */
function nodeRbac() {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "dropbuild-bed-nodes" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:node" },
    subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:nodes" }],
  };
}

/** The IRSA stand-in: pods are sent to the bed webhook, which injects a web identity when their account names a role. */
function podIdentityWebhook(url: string, caFile: string) {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name: "dropbuild-bed-pod-identity" },
    webhooks: [
      {
        name: "pod-identity.bed.dropbuild.dev",
        admissionReviewVersions: ["v1"],
        sideEffects: "None",
        // As EKS's pod-identity webhook: a webhook outage must not stop pods (they then lack credentials).
        failurePolicy: "Ignore",
        timeoutSeconds: 5,
        clientConfig: { url, caBundle: readFileSync(caFile).toString("base64") },
        rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
        namespaceSelector: {
          matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system"] }],
        },
      },
    ],
  };
}

async function motoClusterReady(endpoint: string): Promise<boolean> {
  const res = await fetch(`${endpoint}/clusters/${BED_CLUSTER}`, {
    headers: { authorization: "AWS4-HMAC-SHA256 Credential=bed/20200101/us-east-1/eks/aws4_request" },
  });
  return res.ok;
}

/**
 * Stop every process the bed in `stateDir` started, then undo what its real
 * node did on the host (container processes, mounts, cgroups, bridge,
 * iptables chains, sysctls).
 */
export async function bedDown(stateDir: string): Promise<string[]> {
  const state = readState(stateDir);
  const stopped: string[] = [];
  if (state) {
    // The node first (kubelet before containerd), then the rest together: clients before the servers they talk to.
    const daemons = [...state.daemons].reverse();
    const nodeFirst = ["kubelet", "containerd"];
    for (const name of nodeFirst) {
      const daemon = daemons.find((d) => d.name === name);
      if (daemon) await stopDaemon(daemon);
    }
    await Promise.all(daemons.filter((d) => !nodeFirst.includes(d.name)).map((daemon) => stopDaemon(daemon)));
    await writeState(stateDir, { daemons: [] });
    stopped.push(...state.daemons.map((d) => d.name));
  }
  const undone = await stopRealNode(stateDir);
  return undone.length ? [...stopped, ...undone] : stopped;
}

/** Stop one component of a running bed (tests use it to take the API server away). */
export async function stopComponent(stateDir: string, name: string): Promise<void> {
  const state = readState(stateDir);
  const daemon = state?.daemons.find((d) => d.name === name);
  if (!daemon) throw new Error(`no running bed component ${name} in ${stateDir}`);
  await stopDaemon(daemon);
}

/** Start a stopped component again with the arguments it first had. */
export async function startComponent(stateDir: string, name: string): Promise<void> {
  const state = readState(stateDir);
  const index = state?.daemons.findIndex((d) => d.name === name) ?? -1;
  const record = state?.daemons[index];
  if (!state || !record?.command) throw new Error(`no bed component ${name} to restart in ${stateDir}`);
  const daemon = startDaemon(name, record.command.file, record.command.args, {
    log: record.log,
    cwd: record.command.cwd,
  });
  state.daemons[index] = { name, pid: daemon.pid, log: daemon.log, command: daemon.command };
  await writeState(stateDir, state);
}
