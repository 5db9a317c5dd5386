import { ApiException, CoreV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { readIamFile, writeIamFile } from "../../../bed/webhook/iam-file.js";
import { EKS_TOKEN_PREFIX, makeEksToken } from "../../../src/eks/token.js";
import { adminKubeConfig, bed, tokenKubeConfig, uniqueName } from "../../support/bed.js";
import { lacks } from "../../support/needs.js";

const ACCOUNT = "123456789012";
const mapped = {
  arn: `arn:aws:iam::${ACCOUNT}:role/bed-webhook-test`,
  accessKeyId: "AKIABEDWEBHOOKTEST00",
  secretAccessKey: "webhook-test-secret",
};
const unmapped = {
  arn: `arn:aws:iam::${ACCOUNT}:user/stranger`,
  accessKeyId: "AKIABEDSTRANGER00000",
  secretAccessKey: "stranger-secret",
};
const GROUP = "bed:webhook-readers";

async function tokenFor(
  identity: { accessKeyId: string; secretAccessKey: string },
  options: { now?: Date; cluster?: string } = {},
) {
  const info = bed();
  const { token } = await makeEksToken({
    clusterName: options.cluster ?? info.cluster.name,
    region: info.aws.region,
    credentials: identity,
    stsEndpoint: info.aws.endpoint,
    now: options.now,
  });
  return token;
}

async function listPodsWith(token: string, namespace: string): Promise<number> {
  const core = tokenKubeConfig(token).makeApiClient(CoreV1Api);
  try {
    await core.listNamespacedPod({ namespace });
    return 200;
  } catch (error: unknown) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

const withoutEks = lacks("emulated-eks", "the bed's token webhook and IAM table");

describe.skipIf(withoutEks)("the bed's EKS token webhook", () => {
  const namespace = uniqueName("bed-auth");

  beforeAll(async () => {
    // Prepare: two IAM identities the emulator knows; only one has an access entry,
    // and RBAC lets its group read pods in one namespace.
    const info = bed();
    const iam = await readIamFile(info.iamFile);
    await writeIamFile(info.iamFile, {
      credentials: [...iam.credentials, mapped, unmapped],
      accessEntries: [...iam.accessEntries, { principalArn: mapped.arn, groups: [GROUP] }],
    });
    const kc = adminKubeConfig();
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: "pod-reader" },
        rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["list"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: "pod-reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" },
        subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: GROUP }],
      },
    });
  });

  it("authenticates a mapped identity and RBAC authorizes its group", async () => {
    expect(await listPodsWith(await tokenFor(mapped), namespace)).toBe(200);
  });

  it("answers 403 to a mapped identity that RBAC does not allow", async () => {
    expect(await listPodsWith(await tokenFor(mapped), "default")).toBe(403);
  });

  it("answers 401 to an identity with no access entry", async () => {
    expect(await listPodsWith(await tokenFor(unmapped), namespace)).toBe(401);
  });

  it("answers 401 to a token signed more than 15 minutes ago", async () => {
    const expired = await tokenFor(mapped, { now: new Date(Date.now() - 16 * 60 * 1000) });
    expect(await listPodsWith(expired, namespace)).toBe(401);
  });

  it("answers 401 to a token whose signature was tampered with", async () => {
    const url = Buffer.from((await tokenFor(mapped)).slice(EKS_TOKEN_PREFIX.length), "base64url").toString();
    const tampered = url.replace(
      /X-Amz-Signature=([0-9a-f])/,
      (_, c: string) => `X-Amz-Signature=${c === "0" ? "1" : "0"}`,
    );
    expect(tampered).not.toBe(url);
    expect(await listPodsWith(EKS_TOKEN_PREFIX + Buffer.from(tampered).toString("base64url"), namespace)).toBe(401);
  });

  it("answers 401 to a token made for another cluster", async () => {
    expect(await listPodsWith(await tokenFor(mapped, { cluster: "some-other-cluster" }), namespace)).toBe(401);
  });

  it("answers 401 to a token signed with the wrong secret", async () => {
    const forged = await tokenFor({ accessKeyId: mapped.accessKeyId, secretAccessKey: "guessed" });
    expect(await listPodsWith(forged, namespace)).toBe(401);
  });
});
