import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { bedImageNames, busyboxAppletLinks, busyboxTag, type ImageInputs } from "../../../bed/build/images.js";
import { registryConfig } from "../../../bed/node/config.js";

describe("registryConfig", () => {
  it("serves plain HTTP on the given address from a filesystem storage that allows deletes", () => {
    const config = parse(registryConfig({ storageDir: "/cache/images-abc/registry", address: "127.0.0.1:40123" }));

    expect(config).toMatchObject({
      version: 0.1,
      storage: { filesystem: { rootdirectory: "/cache/images-abc/registry" }, delete: { enabled: true } },
      http: { addr: "127.0.0.1:40123" },
    });
    expect(config.http.tls).toBeUndefined();
    expect(config.auth).toBeUndefined();
  });

  it("adds TLS and htpasswd auth for the bed's own registry", () => {
    const config = parse(
      registryConfig({
        storageDir: "/bed/registry",
        address: "10.213.0.1:5000",
        tls: { cert: "/pki/registry.crt", key: "/pki/registry.key" },
        htpasswd: "/bed/registry.htpasswd",
      }),
    );

    expect(config.http).toEqual({
      addr: "10.213.0.1:5000",
      tls: { certificate: "/pki/registry.crt", key: "/pki/registry.key" },
    });
    expect(config.auth).toEqual({ htpasswd: { realm: "dropbuild-bed", path: "/bed/registry.htpasswd" } });
  });
});

describe("busyboxAppletLinks", () => {
  it("links every applet once, sorted, but not busybox itself", () => {
    expect(busyboxAppletLinks("sh\n[\n[[\nbusybox\nawk\nsh\n\n")).toEqual(["[", "[[", "awk", "sh"]);
  });

  it("ignores paths, which only --list-full prints", () => {
    expect(busyboxAppletLinks("usr/bin/awk\nls\n")).toEqual(["ls"]);
  });
});

describe("busyboxTag", () => {
  it("takes major.minor of the Debian package version, epoch and revision dropped", () => {
    expect(busyboxTag("1:1.35.0-4+deb12u1+b1")).toBe("1.35");
    expect(busyboxTag("1.37.0-4")).toBe("1.37");
  });

  it("refuses a version it cannot read", () => {
    expect(() => busyboxTag("unknown")).toThrow(/busybox package version/);
  });
});

describe("bedImageNames", () => {
  it("names the images by repository and tag, without a registry host", () => {
    const inputs: ImageInputs = {
      registry: "/c/registry",
      crane: "/c/crane",
      kaniko: { executor: "/c/executor", warmer: "/c/warmer", version: "v1.28.3", nsswitchConf: "/c/nsswitch.conf" },
      pause: "/c/pause",
      busybox: { binary: "/bin/busybox", debianVersion: "1:1.35.0-4+deb12u1+b1" },
      staging: { layer: "/c/layer.tar", awscliVersion: "1.46.3" },
      caCertificates: "/etc/ssl/certs/ca-certificates.crt",
    };

    expect(bedImageNames(inputs)).toEqual({
      kaniko: "osscontainertools/kaniko:v1.28.3",
      busybox: "library/busybox:1.35",
      pause: "dropbuild/pause:1.0",
      staging: "dropbuild/staging:1.46.3",
    });
  });
});
