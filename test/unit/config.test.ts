import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

const minimal = {
  AWS_REGION: "eu-west-1",
  BUILDS_TABLE: "builds",
  CONTEXTS_BUCKET: "contexts",
  CLUSTER_NAME: "prod",
  REGISTRY: "reg.example.com",
};

describe("loadConfig", () => {
  it("fills defaults around the required values", () => {
    const config = loadConfig(minimal);
    expect(config).toMatchObject({
      namespace: "dropbuild",
      backoffLimit: 3,
      cluster: { kind: "eks", name: "prod" },
      images: { kaniko: expect.stringMatching(/^ghcr\.io\/osscontainertools\/kaniko:v/) },
    });
  });

  it("names every missing variable", () => {
    expect(() => loadConfig({ AWS_REGION: "eu-west-1" })).toThrow(ConfigError);
    expect(() => loadConfig({ AWS_REGION: "eu-west-1" })).toThrow(/BUILDS_TABLE is required.*REGISTRY is required/);
  });

  it("names a bad value and shows it", () => {
    expect(() => loadConfig({ ...minimal, BUILD_BACKOFF_LIMIT: "many" })).toThrow(
      /BUILD_BACKOFF_LIMIT: .*\(got "many"\)/,
    );
    expect(() => loadConfig({ ...minimal, BUILD_MEMORY_LIMIT: "4 gigs" })).toThrow(/BUILD_MEMORY_LIMIT/);
  });

  it("needs a cluster: EKS by name or a kubeconfig", () => {
    const { CLUSTER_NAME: _omit, ...noCluster } = minimal;
    expect(() => loadConfig(noCluster)).toThrow(/CLUSTER_NAME .*KUBECONFIG_PATH/);
    expect(loadConfig({ ...noCluster, KUBECONFIG_PATH: "/etc/kube/config" }).cluster).toEqual({
      kind: "kubeconfig",
      path: "/etc/kube/config",
    });
  });
});
