import { describe, expect, it } from "vitest";
import { chainNames, mountsBelow, splitRule } from "../../../bed/node/footprint.js";
import { BED_NETWORK, cniConfig, firewallRules } from "../../../bed/node/network.js";
import { podIdentityPatch } from "../../../bed/webhook/pod-identity.js";

describe("the bed node's firewall", () => {
  const rules = firewallRules(BED_NETWORK, [5000, 41234], 4);

  it("drops everything forwarded off the bridge and onto it from elsewhere, after pod-to-pod", () => {
    const forward = rules.filter((r) => r[1] === "DROPBUILD-BED-FORWARD").map((r) => r.join(" "));
    expect(forward).toEqual([
      "-A DROPBUILD-BED-FORWARD -i dropbuild0 -o dropbuild0 -j ACCEPT",
      "-A DROPBUILD-BED-FORWARD -i dropbuild0 -j DROP",
      "-A DROPBUILD-BED-FORWARD -o dropbuild0 -j DROP",
    ]);
  });

  it("lets pods reach only the listed ports on the bridge address, and drops the rest (kubelet included)", () => {
    const input = rules.filter((r) => r[1] === "DROPBUILD-BED-INPUT").map((r) => r.join(" "));
    expect(input.at(-1)).toBe("-A DROPBUILD-BED-INPUT -i dropbuild0 -j DROP");
    const accepted = input.filter((r) => r.includes("--dport"));
    expect(accepted).toEqual([
      "-A DROPBUILD-BED-INPUT -i dropbuild0 -d 10.213.0.1 -p tcp --dport 5000 -j ACCEPT",
      "-A DROPBUILD-BED-INPUT -i dropbuild0 -d 10.213.0.1 -p tcp --dport 41234 -j ACCEPT",
    ]);
    expect(input.join("\n")).not.toContain("10250");
  });

  it("never masquerades, and opens no IPv6 port", () => {
    expect(rules.flat()).not.toContain("MASQUERADE");
    expect(firewallRules(BED_NETWORK, [5000], 6).some((r) => r.includes("--dport"))).toBe(false);
  });

  it("gives pods no default route and no masquerade", () => {
    const config = cniConfig(BED_NETWORK, "/tmp/ipam") as { plugins: Record<string, unknown>[] };
    const bridge = config.plugins[0] as { ipMasq: boolean; ipam: Record<string, unknown> };
    expect(bridge.ipMasq).toBe(false);
    expect(bridge.ipam.routes).toBeUndefined();
  });
});

describe("the node footprint", () => {
  it("reads chain names from iptables-save", () => {
    const save = "# x\n*filter\n:INPUT ACCEPT [0:0]\n:KUBE-FIREWALL - [0:0]\n-A INPUT -j KUBE-FIREWALL\nCOMMIT\n";
    expect(chainNames(save)).toEqual(["INPUT", "KUBE-FIREWALL"]);
  });

  it("lists mounts below a directory deepest first, and no sibling with the same prefix", () => {
    const mountinfo = [
      "36 35 98:0 / /work/.bed/x/node rw - ext4 /dev/a rw",
      "37 36 0:5 / /work/.bed/x/node/containerd/state/io/rootfs rw - overlay overlay rw",
      "38 35 0:6 / /work/.bed/x/node2 rw - tmpfs tmpfs rw",
    ].join("\n");
    expect(mountsBelow(mountinfo, "/work/.bed/x/node")).toEqual([
      "/work/.bed/x/node/containerd/state/io/rootfs",
      "/work/.bed/x/node",
    ]);
  });

  it("splits a saved rule with a quoted comment into arguments", () => {
    expect(splitRule('-m comment --comment "kubelet canary" -j KUBE-X')).toEqual([
      "-m",
      "comment",
      "--comment",
      "kubelet canary",
      "-j",
      "KUBE-X",
    ]);
  });
});

describe("the IRSA stand-in", () => {
  const pod = {
    spec: {
      initContainers: [{ name: "fetch", image: "a", env: [{ name: "AWS_REGION", value: "x" }] }],
      containers: [{ name: "kaniko", image: "b", volumeMounts: [{ name: "w", mountPath: "/w" }] }],
      volumes: [{ name: "w" }],
    },
  };

  it("adds the role, the token file and the projected token to every container", () => {
    const patch = podIdentityPatch(pod, "arn:aws:iam::1:role/r", "us-east-1");
    const paths = patch.map((p) => p.path);
    expect(paths).toContain("/spec/volumes/-");
    expect(paths).toContain("/spec/initContainers/0/env/-");
    expect(paths).toContain("/spec/containers/0/env");
    expect(paths).toContain("/spec/initContainers/0/volumeMounts");
    expect(paths).toContain("/spec/containers/0/volumeMounts/-");
    const values = JSON.stringify(patch);
    expect(values).toContain("arn:aws:iam::1:role/r");
    expect(values).toContain('"audience":"sts.amazonaws.com"');
    expect(values).toContain("/var/run/secrets/eks.amazonaws.com/serviceaccount/token");
  });

  it("does not inject twice", () => {
    const injected = { spec: { ...pod.spec, volumes: [{ name: "aws-iam-token" }] } };
    expect(podIdentityPatch(injected, "arn", "us-east-1")).toEqual([]);
  });
});
