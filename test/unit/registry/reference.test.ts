import { describe, expect, it } from "vitest";
import { formatReference, parseImageReference, pullLocation } from "../../../src/registry/reference.js";

const DIGEST = `sha256:${"a".repeat(64)}`;

describe("parseImageReference", () => {
  it.each([
    ["busybox", { registry: "docker.io", repository: "library/busybox", tag: "latest" }],
    ["busybox:1.37", { registry: "docker.io", repository: "library/busybox", tag: "1.37" }],
    ["bitnami/redis:7", { registry: "docker.io", repository: "bitnami/redis", tag: "7" }],
    ["ghcr.io/org/app:v1", { registry: "ghcr.io", repository: "org/app", tag: "v1" }],
    ["localhost/app", { registry: "localhost", repository: "app", tag: "latest" }],
    ["10.0.0.1:5000/team/app:2", { registry: "10.0.0.1:5000", repository: "team/app", tag: "2" }],
    [`alpine@${DIGEST}`, { registry: "docker.io", repository: "library/alpine", digest: DIGEST }],
    [`alpine:3@${DIGEST}`, { registry: "docker.io", repository: "library/alpine", tag: "3", digest: DIGEST }],
  ])("%s", (text, expected) => {
    expect(parseImageReference(text)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ["Busybox", /lowercase/],
    ["busybox:-bad", /not a valid image tag/],
    ["busybox@sha256:short", /sha256: and 64 hex digits/],
    ["a@b@c", /more than one @/],
  ])("refuses %s", (text, why) => {
    const result = parseImageReference(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(why);
  });
});

describe("pullLocation", () => {
  const parsed = (text: string) => {
    const result = parseImageReference(text);
    if (!result.ok) throw new Error(result.reason);
    return result.value;
  };

  it("sends Docker Hub images to the mirror, under its path", () => {
    expect(formatReference(pullLocation(parsed("busybox:1.37"), "mirror.example:5000"))).toBe(
      "mirror.example:5000/library/busybox:1.37",
    );
    expect(formatReference(pullLocation(parsed("busybox:1.37"), "mirror.example/hub/"))).toBe(
      "mirror.example/hub/library/busybox:1.37",
    );
  });

  it("leaves other registries' images, and every image without a mirror, where they are", () => {
    expect(pullLocation(parsed("ghcr.io/org/app:v1"), "mirror.example")).toEqual(parsed("ghcr.io/org/app:v1"));
    expect(pullLocation(parsed("busybox"), undefined)).toEqual(parsed("busybox"));
  });
});
