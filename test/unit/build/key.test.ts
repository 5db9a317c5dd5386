import { describe, expect, it } from "vitest";
import { decodeEventKey, parseContextKey } from "../../../src/build/key.js";

const REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";

describe("decodeEventKey", () => {
  it.each([
    ["contexts/app/v1.tar.gz", "contexts/app/v1.tar.gz"],
    ["contexts/my+app/v1.tar.gz", "contexts/my app/v1.tar.gz"],
    ["contexts/app/c%2B%2B.tar.gz", "contexts/app/c++.tar.gz"],
    ["contexts/caf%C3%A9/v1.tar.gz", "contexts/café/v1.tar.gz"],
    ["contexts%2Fteam%2Fapp%2Fv1.tgz", "contexts/team/app/v1.tgz"],
    ["contexts/a/100%25.tar", "contexts/a/100%.tar"],
  ])("decodes %s as %s", (encoded, decoded) => {
    expect(decodeEventKey(encoded)).toEqual({ ok: true, value: decoded });
  });

  it("rejects malformed percent escapes with the key in the reason", () => {
    expect(decodeEventKey("contexts/app/%E0%A4%A.tar")).toEqual({
      ok: false,
      reason: 'object key "contexts/app/%E0%A4%A.tar" is not valid URL encoding',
    });
  });
});

describe("parseContextKey", () => {
  it.each([
    ["contexts/app/v1.tar.gz", "app", "v1", "gzip"],
    ["contexts/app/v1.tgz", "app", "v1", "gzip"],
    ["contexts/app/v1.tar", "app", "v1", "none"],
    ["contexts/team/backend/api/1.2.3.tar.gz", "team/backend/api", "1.2.3", "gzip"],
    ["contexts/my-org/my_app/latest.tar.gz", "my-org/my_app", "latest", "gzip"],
    ["contexts/a__b/2026.11.24.tar", "a__b", "2026.11.24", "none"],
  ])("reads %s as %s:%s (%s)", (key, repository, tag, compression) => {
    expect(parseContextKey(key, REGISTRY)).toEqual({ ok: true, value: { key, repository, tag, compression } });
  });

  it.each([
    ["images/app/v1.tar.gz", /not under contexts\//],
    ["contexts/app/v1.zip", /does not end in \.tar\.gz, \.tgz or \.tar/],
    ["contexts/v1.tar.gz", /names no repository/],
    ["contexts//v1.tar.gz", /names no repository/],
    ["contexts/App/v1.tar.gz", /"App" is not a valid image name/],
    ["contexts/team//app/v1.tar.gz", /"team\/\/app" is not a valid image name/],
    ["contexts/app-/v1.tar.gz", /"app-" is not a valid image name/],
    ["contexts/app/.hidden.tar.gz", /tag "\.hidden" is not a valid image tag/],
    ["contexts/app/v1:2.tar.gz", /tag "v1:2"/],
    [`contexts/app/${"t".repeat(129)}.tar.gz`, /is not a valid image tag/],
    [`contexts/${"a".repeat(250)}/v1.tar.gz`, /longer than 255 characters/],
  ])("rejects %s", (key, reason) => {
    const result = parseContextKey(key, REGISTRY);
    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.reason).toMatch(reason);
  });
});
