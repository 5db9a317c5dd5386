import { describe, expect, it } from "vitest";
import { mapIdentity } from "../../../bed/webhook/access-entries.js";
import { verifyEksToken } from "../../../bed/webhook/verify.js";
import { EKS_TOKEN_PREFIX, makeEksToken } from "../../../src/eks/token.js";

const endpoint = "http://127.0.0.1:5000";
const known = {
  accessKeyId: "AKIAKNOWN",
  secretAccessKey: "known-secret",
  arn: "arn:aws:iam::123456789012:role/builder",
};
const signedAt = new Date("2026-11-24T12:00:00Z");

async function token(overrides: { clusterName?: string; secret?: string } = {}) {
  const made = await makeEksToken({
    clusterName: overrides.clusterName ?? "bed",
    region: "us-east-1",
    credentials: { accessKeyId: known.accessKeyId, secretAccessKey: overrides.secret ?? known.secretAccessKey },
    stsEndpoint: endpoint,
    now: signedAt,
  });
  return made.token;
}

function check(t: string, now = new Date(signedAt.getTime() + 60_000)) {
  return verifyEksToken({ token: t, clusterName: "bed", stsEndpoints: [endpoint], credentials: [known], now });
}

function rewrite(t: string, edit: (url: URL) => void): string {
  const url = new URL(Buffer.from(t.slice(EKS_TOKEN_PREFIX.length), "base64url").toString());
  edit(url);
  return EKS_TOKEN_PREFIX + Buffer.from(url.toString()).toString("base64url");
}

describe("verifyEksToken", () => {
  it("accepts a token made for this cluster with known credentials", async () => {
    expect(await check(await token())).toEqual({ ok: true, arn: known.arn, accessKeyId: known.accessKeyId });
  });

  it.each([
    [
      "a token without the k8s-aws-v1. prefix",
      async () => (await token()).replace("k8s-aws-v1.", "k8s-aws-v2."),
      /not an EKS token/,
    ],
    ["a token for another cluster", () => token({ clusterName: "other" }), /signature/],
    ["a token signed with the wrong secret", () => token({ secret: "nope" }), /signature/],
    [
      "a token for another STS host",
      async () => rewrite(await token(), (u) => (u.host = "evil.example:5000")),
      /STS host/,
    ],
    ["a token with another path", async () => rewrite(await token(), (u) => (u.pathname = "/x")), /path/],
    [
      "a token with another action",
      async () => rewrite(await token(), (u) => u.searchParams.set("Action", "AssumeRole")),
      /action/,
    ],
    [
      "a token with an extra query key",
      async () => rewrite(await token(), (u) => u.searchParams.set("Extra", "1")),
      /not allowed/,
    ],
    [
      "a token asking to be valid longer than 15 minutes (X-Amz-Expires over 900)",
      async () => rewrite(await token(), (u) => u.searchParams.set("X-Amz-Expires", "901")),
      /X-Amz-Expires/,
    ],
    [
      "a token whose X-Amz-Expires is not a number of seconds",
      async () => rewrite(await token(), (u) => u.searchParams.set("X-Amz-Expires", "60s")),
      /X-Amz-Expires/,
    ],
    ["a token longer than 4096 bytes", async () => `${await token()}${"A".repeat(4096)}`, /4096/],
    [
      "a token whose cluster header is not signed",
      async () => rewrite(await token(), (u) => u.searchParams.set("X-Amz-SignedHeaders", "host")),
      /not signed/,
    ],
  ])("rejects %s", async (_name, make, reason) => {
    const verdict = await check(await make());
    expect(verdict.ok).toBe(false);
    expect(verdict.ok ? "" : verdict.reason).toMatch(reason);
  });

  it("rejects a token more than 15 minutes after it was signed", async () => {
    const verdict = await check(await token(), new Date(signedAt.getTime() + 15 * 60_000 + 1000));
    expect(verdict).toEqual({ ok: false, reason: "token expired" });
  });
});

describe("mapIdentity", () => {
  const entries = [
    { principalArn: "arn:aws:iam::123456789012:role/builder", username: "builder:{{SessionName}}", groups: ["g"] },
  ];

  it("maps an assumed-role session through its role's access entry", () => {
    const user = mapIdentity("arn:aws:sts::123456789012:assumed-role/builder/lambda-1", "ASIA1", entries);
    expect(user?.username).toBe("builder:lambda-1");
    expect(user?.groups).toEqual(["g"]);
    expect(user?.extra.canonicalArn).toEqual(["arn:aws:iam::123456789012:role/builder"]);
  });

  it("finds no user for an identity without an access entry", () => {
    expect(mapIdentity("arn:aws:iam::123456789012:user/stranger", "AKIA1", entries)).toBeUndefined();
  });
});
