import { describe, expect, it } from "vitest";
import { buildIdFor, jobNameFor } from "../../../src/build/identity.js";
import { buildSpecFrom, checkContextPath, parseBuildArgs, parseExtraTags } from "../../../src/build/spec.js";

const key = { key: "contexts/team/api/v2.tar.gz", repository: "team/api", tag: "v2", compression: "gzip" as const };
const defaults = { registry: "registry.example.com:5000", dockerfile: "Dockerfile" };

describe("parseBuildArgs", () => {
  it("accepts a JSON object and stringifies numbers and booleans", () => {
    expect(parseBuildArgs('{"VERSION":"1.2","PORT":8080,"DEBUG":false}')).toEqual({
      ok: true,
      value: { VERSION: "1.2", PORT: "8080", DEBUG: "false" },
    });
  });

  it("treats absent or blank metadata as no build args", () => {
    expect(parseBuildArgs(undefined)).toEqual({ ok: true, value: {} });
    expect(parseBuildArgs("  ")).toEqual({ ok: true, value: {} });
  });

  it.each([
    ["VERSION=1", /not JSON/],
    ['["a"]', /must be a JSON object/],
    ["null", /must be a JSON object/],
    ['{"1BAD":"x"}', /"1BAD" is not a valid ARG name/],
    ['{"NESTED":{"a":1}}', /must be a string, number or boolean/],
  ])("rejects %s", (raw, reason) => {
    const result = parseBuildArgs(raw);
    expect(result.ok ? "" : result.reason).toMatch(reason);
  });
});

describe("parseExtraTags", () => {
  it("splits on commas, trims, and skips blanks", () => {
    expect(parseExtraTags(" latest, stable ,,")).toEqual({ ok: true, value: ["latest", "stable"] });
  });

  it("names the bad tag", () => {
    expect(parseExtraTags("ok,-bad")).toMatchObject({ ok: false, reason: expect.stringMatching(/tag "-bad"/) });
  });
});

describe("checkContextPath", () => {
  it("normalises a relative path", () => {
    expect(checkContextPath("./docker//prod.Dockerfile", "dockerfile")).toEqual({
      ok: true,
      value: "docker/prod.Dockerfile",
    });
  });

  it.each(["/Dockerfile", "../Dockerfile", "a/../../Dockerfile", "docker/", "."])("rejects %s", (path) => {
    expect(checkContextPath(path, "dockerfile").ok).toBe(false);
  });
});

describe("buildSpecFrom", () => {
  it("uses defaults when the object has no metadata", () => {
    expect(buildSpecFrom(key, {}, defaults)).toEqual({
      ok: true,
      value: {
        repository: "team/api",
        tag: "v2",
        tags: ["v2"],
        destinations: ["registry.example.com:5000/team/api:v2"],
        dockerfile: "Dockerfile",
        buildArgs: {},
        target: undefined,
      },
    });
  });

  it("applies dockerfile, build args, target and extra tags from metadata, without repeating the tag", () => {
    const spec = buildSpecFrom(
      key,
      { dockerfile: "build/Dockerfile.prod", "build-args": '{"A":"1"}', target: "runtime", "extra-tags": "latest,v2" },
      defaults,
    );
    expect(spec).toMatchObject({
      ok: true,
      value: {
        dockerfile: "build/Dockerfile.prod",
        buildArgs: { A: "1" },
        target: "runtime",
        destinations: ["registry.example.com:5000/team/api:v2", "registry.example.com:5000/team/api:latest"],
      },
    });
  });

  it("rejects an invalid target stage name", () => {
    expect(buildSpecFrom(key, { target: "bad stage" }, defaults)).toMatchObject({ ok: false });
  });
});

describe("buildIdFor", () => {
  const source = { bucket: "b", key: "contexts/app/v1.tar.gz", versionId: "v-1", etag: '"abc"' };

  it("is the same for the same upload, so a redelivered event is one build", () => {
    expect(buildIdFor({ ...source })).toBe(buildIdFor(source));
    expect(buildIdFor(source)).toMatch(/^[0-9a-f]{16}$/);
    expect(jobNameFor(buildIdFor(source))).toMatch(/^dropbuild-[0-9a-f]{16}$/);
  });

  it("differs for a new version of the same key", () => {
    expect(buildIdFor({ ...source, versionId: "v-2" })).not.toBe(buildIdFor(source));
  });

  it("falls back to the etag when the bucket is unversioned", () => {
    const unversioned = { bucket: "b", key: "k", etag: "abc" };
    expect(buildIdFor({ ...unversioned, versionId: "null" })).toBe(buildIdFor(unversioned));
    expect(buildIdFor({ ...unversioned, etag: "def" })).not.toBe(buildIdFor(unversioned));
  });
});
