import { join } from "node:path";
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../../bed/paths.js";
import { makeEksToken } from "../../../src/eks/token.js";
import { renderJob } from "../../../src/kube/job.js";
import { applyInfra } from "../../../src/local/provision.js";
import { jobSettings } from "../../../src/wiring.js";
import { admin, bed, eventually, tokenKubeConfig, uniqueName } from "../../support/bed.js";
import { bedConfig } from "../../support/deployment.js";
import { lacks } from "../../support/needs.js";

async function status(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
    return 200;
  } catch (error: unknown) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
}

/** infra/k8s on the real API server, probed with the functions' own EKS token. */
const withoutEks = lacks("emulated-eks", "the functions' IAM identity mapped to RBAC by the bed's access entry");

describe.skipIf(withoutEks)("infra/k8s and the functions' access", () => {
  let kc: KubeConfig;
  const ns = "dropbuild";

  beforeAll(async () => {
    const info = bed();
    const output = await applyInfra(
      info.kubectl,
      info.kubeconfigs.admin,
      join(repoRoot, "infra", "k8s", "overlays", "local"),
    );
    expect(output).toMatch(/namespace\/dropbuild serverside-applied/);
    const identity = info.identities.functions;
    const { token } = await makeEksToken({
      clusterName: info.cluster.name,
      region: info.aws.region,
      credentials: { accessKeyId: identity?.accessKeyId ?? "", secretAccessKey: identity?.secretAccessKey ?? "" },
      stsEndpoint: info.aws.endpoint,
    });
    kc = tokenKubeConfig(token);
  });

  it("renders the example EKS overlay and applies the local one server-side", async () => {
    const { core } = admin();
    const namespace = await core.readNamespace({ name: ns });
    expect(namespace.metadata?.labels?.["pod-security.kubernetes.io/enforce"]).toBe("baseline");
    const claim = await eventually("the workspace claim to bind", async () => {
      const pvc = await core.readNamespacedPersistentVolumeClaim({ name: "dropbuild-workspace", namespace: ns });
      return pvc.status?.phase === "Bound" ? pvc : undefined;
    });
    expect(claim.spec?.accessModes).toEqual(["ReadWriteMany"]);
  });

  it("lets the functions create, list and patch Jobs, and read pods and their logs, in the namespace", async () => {
    const batch = kc.makeApiClient(BatchV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const name = uniqueName("probe");
    const job = renderJob(
      {
        buildId: "0000000000000000",
        jobName: name,
        spec: {
          repository: "probe",
          tag: "1",
          tags: ["1"],
          destinations: ["r/probe:1"],
          dockerfile: "Dockerfile",
          buildArgs: {},
        },
        source: { bucket: "b", key: "contexts/probe/1.tar.gz" },
      },
      jobSettings(bedConfig()),
    );

    expect(await status(() => batch.createNamespacedJob({ namespace: ns, body: job }))).toBe(200);
    expect(await status(() => batch.listNamespacedJob({ namespace: ns }))).toBe(200);
    expect(
      await status(() =>
        batch.patchNamespacedJob(
          { name, namespace: ns, body: [{ op: "add", path: "/metadata/labels/probed", value: "yes" }] },
          setHeaderOptions("Content-Type", PatchStrategy.JsonPatch),
        ),
      ),
    ).toBe(200);
    const pods = await eventually("the probe's pod", async () => {
      const list = await core.listNamespacedPod({ namespace: ns, labelSelector: `job-name=${name}` });
      return list.items[0]?.status?.phase === "Succeeded" ? list.items : undefined;
    });
    expect(
      await status(() =>
        core.readNamespacedPodLog({ name: pods[0]?.metadata?.name ?? "", namespace: ns, container: "kaniko" }),
      ),
    ).toBe(200);
    expect(await status(() => batch.deleteNamespacedJob({ name, namespace: ns }))).toBe(200);
  });

  it("forbids Secrets but the registry login, other namespaces and cluster-scoped resources", async () => {
    const batch = kc.makeApiClient(BatchV1Api);
    const core = kc.makeApiClient(CoreV1Api);

    expect(await status(() => core.listNamespacedSecret({ namespace: ns }))).toBe(403);
    expect(await status(() => core.readNamespacedSecret({ name: "some-other-secret", namespace: ns }))).toBe(403);
    // The one Secret the functions read, by name (provenance): allowed, whether or not it exists here.
    expect([200, 404]).toContain(
      await status(() => core.readNamespacedSecret({ name: "dropbuild-registry", namespace: ns })),
    );
    expect([200, 404]).toContain(
      await status(() => core.readNamespacedConfigMap({ name: "dropbuild-registry-ca", namespace: ns })),
    );
    expect(await status(() => core.readNamespacedConfigMap({ name: "other-config", namespace: ns }))).toBe(403);
    expect(await status(() => batch.listNamespacedJob({ namespace: "default" }))).toBe(403);
    expect(await status(() => core.listNamespacedPod({ namespace: "kube-system" }))).toBe(403);
    expect(await status(() => core.listNode())).toBe(403);
    expect(await status(() => core.listNamespace())).toBe(403);
    expect(await status(() => core.createNamespace({ body: { metadata: { name: uniqueName("nope") } } }))).toBe(403);
  });

  it("admits the trigger's rendered Job under the namespace's Pod Security level", async () => {
    const { batch } = admin();
    const job = renderJob(
      {
        buildId: "1111111111111111",
        jobName: uniqueName("pss"),
        spec: {
          repository: "pss",
          tag: "1",
          tags: ["1"],
          destinations: ["r/pss:1"],
          dockerfile: "Dockerfile",
          buildArgs: {},
        },
        source: { bucket: "b", key: "contexts/pss/1.tar.gz", versionId: "v1" },
      },
      { ...jobSettings(bedConfig()), registrySecret: "dropbuild-registry" },
    );

    // Pod Security is enforced on pods, so admit the Job's pod template as a pod (dry run).
    const { core } = admin();
    const asPod = (spec: unknown) => ({ metadata: { name: uniqueName("pss-pod") }, spec }) as never;
    expect(await status(() => batch.createNamespacedJob({ namespace: ns, body: job, dryRun: "All" }))).toBe(200);
    expect(
      await status(() =>
        core.createNamespacedPod({ namespace: ns, body: asPod(job.spec?.template.spec), dryRun: "All" }),
      ),
    ).toBe(200);

    // The same pod made privileged is refused: the check above is not vacuous.
    const privileged = structuredClone(job.spec?.template.spec);
    const container = privileged?.containers[0];
    if (container) container.securityContext = { privileged: true };
    expect(
      await status(() => core.createNamespacedPod({ namespace: ns, body: asPod(privileged), dryRun: "All" })),
    ).toBe(403);
  });
});
