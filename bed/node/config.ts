import { join } from "node:path";
import { stringify } from "yaml";

/** Where one node keeps everything: containerd's root and state, kubelet's root, pod logs, CNI config. */
export function nodeLayout(nodeDir: string) {
  return {
    nodeDir,
    containerdRoot: join(nodeDir, "containerd", "root"),
    containerdState: join(nodeDir, "containerd", "state"),
    containerdSocket: join(nodeDir, "containerd.sock"),
    containerdConfig: join(nodeDir, "containerd.toml"),
    registryHosts: join(nodeDir, "certs.d"),
    cniConfDir: join(nodeDir, "cni", "net.d"),
    cniDataDir: join(nodeDir, "cni", "ipam"),
    kubeletRoot: join(nodeDir, "kubelet"),
    kubeletConfig: join(nodeDir, "kubelet.yaml"),
    podLogs: join(nodeDir, "pod-logs"),
  };
}
export type NodeLayout = ReturnType<typeof nodeLayout>;

const tomlString = (value: string) => JSON.stringify(value);

/**
 * containerd 2.x (config version 3) for the bed node. The pitfalls it encodes:
 * the socket is set on the grpc/ttrpc server plugins (2.x ignores a top-level
 * [grpc] address); `restrict_oom_score_adj` because this VM lacks
 * CAP_SYS_RESOURCE (without it every sandbox fails in runc); netns mounts
 * under the state dir so nothing lands in /run/netns; cgroupfs, not systemd.
 */
export function containerdConfig(
  layout: NodeLayout,
  options: { runc: string; cniBinDir: string; sandboxImage: string },
): string {
  const lines = [
    "version = 3",
    `root = ${tomlString(layout.containerdRoot)}`,
    `state = ${tomlString(layout.containerdState)}`,
    // Nothing from /etc/containerd, nothing written to /opt or /var/run: the node keeps to its directory.
    "imports = []",
    "",
    "[plugins.'io.containerd.internal.v1.opt']",
    `  path = ${tomlString(join(layout.nodeDir, "containerd", "opt"))}`,
    "[plugins.'io.containerd.nri.v1.nri']",
    "  disable = true",
    "[plugins.'io.containerd.server.v1.grpc']",
    `  address = ${tomlString(layout.containerdSocket)}`,
    "[plugins.'io.containerd.server.v1.ttrpc']",
    `  address = ${tomlString(`${layout.containerdSocket}.ttrpc`)}`,
    "",
    "[plugins.'io.containerd.cri.v1.runtime']",
    "  enable_selinux = false",
    "  restrict_oom_score_adj = true",
    "  netns_mounts_under_state_dir = true",
    "  [plugins.'io.containerd.cri.v1.runtime'.containerd]",
    "    default_runtime_name = 'runc'",
    "    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]",
    "      runtime_type = 'io.containerd.runc.v2'",
    "      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]",
    `        BinaryName = ${tomlString(options.runc)}`,
    `        Root = ${tomlString(join(layout.nodeDir, "runc"))}`,
    "        SystemdCgroup = false",
    "  [plugins.'io.containerd.cri.v1.runtime'.cni]",
    `    bin_dirs = [${tomlString(options.cniBinDir)}]`,
    `    conf_dir = ${tomlString(layout.cniConfDir)}`,
    "    max_conf_num = 1",
    "",
    "[plugins.'io.containerd.cri.v1.images']",
    "  snapshotter = 'overlayfs'",
    "  [plugins.'io.containerd.cri.v1.images'.pinned_images]",
    `    sandbox = ${tomlString(options.sandboxImage)}`,
    "  [plugins.'io.containerd.cri.v1.images'.registry]",
    `    config_path = ${tomlString(layout.registryHosts)}`,
    "",
  ];
  return lines.join("\n");
}

/**
 * hosts.toml for the bed registry: trust the bed's CA, and present the node's
 * pull credentials (basic auth) the way a node-level credential helper would.
 */
export function registryHostsToml(registryHost: string, caFile: string, basicAuth: string): string {
  return [
    `server = ${tomlString(`https://${registryHost}`)}`,
    "",
    `[host.${tomlString(`https://${registryHost}`)}]`,
    "  capabilities = ['pull', 'resolve']",
    `  ca = ${tomlString(caFile)}`,
    `  [host.${tomlString(`https://${registryHost}`)}.header]`,
    `    Authorization = ${tomlString(`Basic ${basicAuth}`)}`,
    "",
  ].join("\n");
}

export interface KubeletOptions {
  nodeIp: string;
  caFile: string;
  servingCert: string;
  servingKey: string;
  cgroupRoot: string;
  clusterDomain?: string;
}

/**
 * KubeletConfiguration for the bed node: cgroupfs on this cgroup v1 (hybrid)
 * host (`failCgroupV1: false`), its API served on the node IP (the bridge
 * address, where the firewall keeps pods off it), healthz on loopback, no DNS
 * for pods (`resolvConf: ""`: the host's resolver is not the bed's to use),
 * eviction thresholds low enough for a developer's disk.
 */
export function kubeletConfig(layout: NodeLayout, options: KubeletOptions): string {
  return stringify({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: options.nodeIp,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: 10248,
    tlsCertFile: options.servingCert,
    tlsPrivateKeyFile: options.servingKey,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: options.caFile },
    },
    authorization: { mode: "Webhook" },
    containerRuntimeEndpoint: `unix://${layout.containerdSocket}`,
    cgroupDriver: "cgroupfs",
    cgroupRoot: options.cgroupRoot,
    cgroupsPerQOS: true,
    failCgroupV1: false,
    failSwapOn: false,
    resolvConf: "",
    podLogsDir: layout.podLogs,
    serializeImagePulls: false,
    maxPods: 30,
    evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    imageGCHighThresholdPercent: 99,
    imageGCLowThresholdPercent: 98,
    syncFrequency: "10s",
    fileCheckFrequency: "10s",
    nodeStatusUpdateFrequency: "10s",
    registerNode: true,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    protectKernelDefaults: false,
    shutdownGracePeriod: "0s",
  });
}

/**
 * distribution's config, filesystem storage. The bed's registry adds TLS with
 * the bed's certificate and htpasswd auth; the scratch registry the image
 * build pushes into (plain HTTP on loopback) has neither.
 */
export function registryConfig(options: {
  address: string;
  storageDir: string;
  tls?: { cert: string; key: string };
  htpasswd?: string;
}): string {
  const http: Record<string, unknown> = { addr: options.address };
  if (options.tls) http.tls = { certificate: options.tls.cert, key: options.tls.key };
  return stringify({
    version: 0.1,
    // The access log is kept: it is how a test shows which blobs a build pulled (the base-image cache).
    log: { level: "warn", accesslog: { disabled: false } },
    storage: { filesystem: { rootdirectory: options.storageDir }, delete: { enabled: true } },
    http,
    ...(options.htpasswd ? { auth: { htpasswd: { realm: "dropbuild-bed", path: options.htpasswd } } } : {}),
  });
}
