import { ApiException, type V1Job, type V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { SIMULATED_NODES } from "../../../src/kube/job.js";
import { admin, bed, eventually, uniqueName } from "../../support/bed.js";
import { lacks } from "../../support/needs.js";

function job(name: string, options: { fail?: boolean; backoffLimit?: number } = {}): V1Job {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name },
    spec: {
      backoffLimit: options.backoffLimit ?? 0,
      template: {
        metadata: options.fail
          ? {
              labels: { "bed.dropbuild.dev/outcome": "fail" },
              annotations: {
                "bed.dropbuild.dev/exit-code": "2",
                "bed.dropbuild.dev/reason": "Error",
                "bed.dropbuild.dev/message": "error building image: RUN make failed",
                "bed.dropbuild.dev/run-ms": "100",
              },
            }
          : { annotations: { "bed.dropbuild.dev/run-ms": "300" } },
        spec: {
          restartPolicy: "Never",
          nodeSelector: { ...SIMULATED_NODES.selector },
          tolerations: [{ ...SIMULATED_NODES.taint, operator: "Equal" }],
          initContainers: [{ name: "stage", image: "public.ecr.aws/docker/library/busybox:1.37" }],
          containers: [{ name: "kaniko", image: "ghcr.io/osscontainertools/kaniko:latest" }],
        },
      },
    },
  };
}

async function podsOf(name: string): Promise<V1Pod[]> {
  const { core } = admin();
  const list = await core.listNamespacedPod({ namespace: "default", labelSelector: `job-name=${name}` });
  return list.items;
}

function condition(j: V1Job, type: string) {
  return j.status?.conditions?.find((c) => c.type === type && c.status === "True");
}

const withoutKwok = lacks("simulated-nodes", "the bed's kwok stages run and fail these Jobs");

describe.skipIf(withoutKwok)("the bed's Kubernetes control plane", () => {
  it("runs a Job to Complete on a kwok node, with the digest in the termination message", async () => {
    const { batch } = admin();
    const name = uniqueName("bed-ok");

    await batch.createNamespacedJob({ namespace: "default", body: job(name) });
    const done = await eventually("Job Complete", async () => {
      const j = await batch.readNamespacedJob({ name, namespace: "default" });
      return condition(j, "Complete") ? j : undefined;
    });

    expect(done.status?.succeeded).toBe(1);
    const [pod] = await podsOf(name);
    expect(bed().nodes).toContain(pod?.spec?.nodeName);
    expect(pod?.status?.phase).toBe("Succeeded");
    const terminated = pod?.status?.containerStatuses?.[0]?.state?.terminated;
    expect(terminated?.exitCode).toBe(0);
    expect(terminated?.message).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it("retries a failing Job backoffLimit times, then fails it with BackoffLimitExceeded", async () => {
    const { batch } = admin();
    const name = uniqueName("bed-fail");

    await batch.createNamespacedJob({ namespace: "default", body: job(name, { fail: true, backoffLimit: 2 }) });
    const failed = await eventually(
      "Job Failed",
      async () => {
        const j = await batch.readNamespacedJob({ name, namespace: "default" });
        return condition(j, "Failed") ? j : undefined;
      },
      110_000,
    );

    expect(condition(failed, "Failed")?.reason).toBe("BackoffLimitExceeded");
    const pods = await podsOf(name);
    expect(pods).toHaveLength(3);
    for (const pod of pods) {
      const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
      expect(pod.status?.phase).toBe("Failed");
      expect(terminated?.exitCode).toBe(2);
      expect(terminated?.message).toBe("error building image: RUN make failed");
    }
  });

  it("refuses an invalid Job with 422", async () => {
    const { batch } = admin();
    const invalid = job(uniqueName("bed-invalid"));
    if (invalid.spec) invalid.spec.template.spec = { containers: [] };

    const attempt = batch.createNamespacedJob({ namespace: "default", body: invalid });

    await expect(attempt).rejects.toSatisfy((e: unknown) => e instanceof ApiException && e.code === 422);
  });

  it("refuses a privileged pod in a namespace that enforces Pod Security baseline", async () => {
    const { core } = admin();
    const namespace = uniqueName("bed-baseline");
    await core.createNamespace({
      body: { metadata: { name: namespace, labels: { "pod-security.kubernetes.io/enforce": "baseline" } } },
    });

    const attempt = core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: "privileged" },
        spec: { containers: [{ name: "c", image: "busybox", securityContext: { privileged: true } }] },
      },
    });

    await expect(attempt).rejects.toSatisfy(
      (e: unknown) => e instanceof ApiException && e.code === 403 && String(e.body).includes("violates PodSecurity"),
    );
  });
});
