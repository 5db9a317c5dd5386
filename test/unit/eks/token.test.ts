import { describe, expect, it } from "vitest";
import { defaultStsEndpoint, EKS_TOKEN_PREFIX, makeEksToken } from "../../../src/eks/token.js";

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };
const now = new Date("2026-11-24T12:00:00Z");

function decode(token: string): URL {
  return new URL(Buffer.from(token.slice(EKS_TOKEN_PREFIX.length), "base64url").toString("utf8"));
}

describe("makeEksToken", () => {
  it("makes a k8s-aws-v1. token whose body is unpadded base64url", async () => {
    const { token } = await makeEksToken({ clusterName: "prod", region: "eu-west-1", credentials, now });

    expect(token.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
    expect(token.slice(EKS_TOKEN_PREFIX.length)).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("presigns STS GetCallerIdentity in the cluster's region, with x-k8s-aws-id signed", async () => {
    const { token } = await makeEksToken({ clusterName: "prod", region: "eu-west-1", credentials, now });
    const url = decode(token);

    expect(url.origin).toBe("https://sts.eu-west-1.amazonaws.com");
    expect(url.pathname).toBe("/");
    expect(url.searchParams.get("Action")).toBe("GetCallerIdentity");
    expect(url.searchParams.get("Version")).toBe("2011-06-15");
    expect(url.searchParams.get("X-Amz-SignedHeaders")).toBe("host;x-k8s-aws-id");
    expect(url.searchParams.get("X-Amz-Credential")).toBe("AKIDEXAMPLE/20261124/eu-west-1/sts/aws4_request");
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("uses a 60 second expiry parameter and expires 15 minutes after signing", async () => {
    const { token, expiresAt } = await makeEksToken({ clusterName: "prod", region: "us-east-1", credentials, now });

    expect(decode(token).searchParams.get("X-Amz-Expires")).toBe("60");
    expect(decode(token).searchParams.get("X-Amz-Date")).toBe("20261124T120000Z");
    expect(expiresAt.toISOString()).toBe("2026-11-24T12:15:00.000Z");
  });

  it("signs differently for another cluster name", async () => {
    const a = await makeEksToken({ clusterName: "a", region: "us-east-1", credentials, now });
    const b = await makeEksToken({ clusterName: "b", region: "us-east-1", credentials, now });

    expect(decode(a.token).searchParams.get("X-Amz-Signature")).not.toBe(
      decode(b.token).searchParams.get("X-Amz-Signature"),
    );
  });

  it("carries a session token for temporary credentials, as a Lambda role has", async () => {
    const { token } = await makeEksToken({
      clusterName: "prod",
      region: "us-east-1",
      credentials: { ...credentials, sessionToken: "FwoGZXIvYXdzEXAMPLE" },
      now,
    });

    expect(decode(token).searchParams.get("X-Amz-Security-Token")).toBe("FwoGZXIvYXdzEXAMPLE");
  });

  it("targets an emulator's endpoint when one is given", async () => {
    const { token } = await makeEksToken({
      clusterName: "local",
      region: "us-east-1",
      credentials,
      stsEndpoint: "http://127.0.0.1:4566",
      now,
    });

    expect(decode(token).origin).toBe("http://127.0.0.1:4566");
  });

  it("knows the China partition's STS host", () => {
    expect(defaultStsEndpoint("cn-north-1")).toBe("https://sts.cn-north-1.amazonaws.com.cn");
    expect(defaultStsEndpoint("us-gov-west-1")).toBe("https://sts.us-gov-west-1.amazonaws.com");
    expect(defaultStsEndpoint("us-iso-east-1")).toBe("https://sts.us-iso-east-1.c2s.ic.gov");
    expect(defaultStsEndpoint("us-isob-east-1")).toBe("https://sts.us-isob-east-1.sc2s.sgov.gov");
    expect(defaultStsEndpoint("eusc-de-east-1")).toBe("https://sts.eusc-de-east-1.amazonaws.eu");
  });
});
