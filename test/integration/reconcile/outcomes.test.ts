import { createHash } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { logKey } from "../../../src/aws/log-archive.js";
import { cancelBuild } from "../../../src/builds/cancel.js";
import { reconcile } from "../../../src/reconcile/reconcile.js";
import { admin, eventually } from "../../support/bed.js";
import { reconcileUntil, submitSample } from "../../support/builds.js";
import { deployOnBed } from "../../support/deployment.js";

const finished = (r: { status: string }) => ["SUCCEEDED", "FAILED", "CANCELLED"].includes(r.status);

async function jobGone(name: string): Promise<true | undefined> {
  const { batch } = admin();
  try {
    await batch.readNamespacedJob({ name, namespace: "dropbuild" });
    return undefined;
  } catch {
    return true;
  }
}

describe("reconcile: every outcome recorded", () => {
  let env: Awaited<ReturnType<typeof deployOnBed>>;

  beforeAll(async () => {
    env = await deployOnBed({ env: { BUILD_BACKOFF_LIMIT: "2", BUILD_TTL_SECONDS: "60" } });
  });

  it("records a success with digest, duration, attempts, archived logs, and publishes it", async () => {
    const id = await submitSample(env, "contexts/outcome/ok/1.tar.gz", { DROPBUILD_SIMULATE_DURATION_MS: "1500" });

    const { record } = await reconcileUntil(env, id, finished);

    expect(record.status).toBe("SUCCEEDED");
    const { core } = admin();
    const pods = await core.listNamespacedPod({
      namespace: "dropbuild",
      labelSelector: `dropbuild.dev/build-id=${id}`,
    });
    const uid = pods.items[0]?.metadata?.uid ?? "";
    expect(record.digest).toBe(`sha256:${createHash("sha256").update(uid).digest("hex")}`);
    expect(record.attempts).toBe(1);
    expect(record.durationSeconds).toBeGreaterThanOrEqual(1);
    expect(record.startedAt && record.finishedAt && record.startedAt <= record.finishedAt).toBe(true);
    expect(record.logLocation).toBe(`s3://${env.bucket}/${logKey(id)}`);
    expect(await env.reconcileDeps.logs.get(id)).toMatch(
      /=== attempt 1 of 1: pod dropbuild-.*\nINFO\[0000\] Retrieving image manifest/,
    );
    const events = await env.outcomeEvents(1);
    expect(events.map((e) => [e["detail-type"], e.detail.id, e.detail.status])).toEqual([
      ["Build Succeeded", id, "SUCCEEDED"],
    ]);
    // The record finalizer was the only thing holding the Job; it is released for TTL cleanup.
    const { batch } = admin();
    const job = await batch
      .readNamespacedJob({ name: `dropbuild-${id}`, namespace: "dropbuild" })
      .catch(() => undefined);
    expect(job?.metadata?.finalizers ?? []).not.toContain("dropbuild.dev/record");
  });

  it("records a failure after backoffLimit retries with the reason and the last container message", async () => {
    const id = await submitSample(env, "contexts/outcome/broken/1.tar.gz", {
      DROPBUILD_SIMULATE_FAILURE: "error building image: error building stage: RUN make: exit status 2",
      DROPBUILD_SIMULATE_DURATION_MS: "100",
    });

    const { record } = await reconcileUntil(env, id, finished, 110_000);

    expect(record.status).toBe("FAILED");
    expect(record.attempts).toBe(3);
    expect(record.reason).toMatch(/^BackoffLimitExceeded: /);
    expect(record.reason).toMatch(
      /last attempt exited 1 \(Error\): error building image: error building stage: RUN make: exit status 2$/,
    );
    expect(record.digest).toBeUndefined();
    expect(await env.reconcileDeps.logs.get(id)).toMatch(/=== attempt 3 of 3/);
  }, 120_000);

  it("records a build that ran past its deadline", async () => {
    const slow = await deployOnBed({ env: { BUILD_DEADLINE_SECONDS: "2" } });
    const id = await submitSample(slow, "contexts/outcome/slow/1.tar.gz", { DROPBUILD_SIMULATE_DURATION_MS: "60000" });

    const { record } = await reconcileUntil(slow, id, finished);

    expect(record.status).toBe("FAILED");
    expect(record.reason).toMatch(/^DeadlineExceeded: /);
  });

  it("publishes an outcome whose first publish failed, once, and holds the Job until it has", async () => {
    const id = await submitSample(env, "contexts/outcome/publish/1.tar.gz");
    const { batch } = admin();
    const name = `dropbuild-${id}`;
    const complete = async () => {
      const job = await batch.readNamespacedJob({ name, namespace: "dropbuild" });
      return job.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True") || undefined;
    };
    await eventually("the Job to complete", complete);
    const failing = {
      ...env.reconcileDeps,
      events: {
        publish: async () => {
          throw new Error("EventBridge is down");
        },
      },
    };
    // The run goes on with the other Jobs and reports this one.
    const report = await reconcile(failing);
    expect(report.failures).toContainEqual({ buildId: id, error: "EventBridge is down" });
    const recorded = await env.deps.store.get(id);
    expect(recorded?.status).toBe("SUCCEEDED");
    expect(recorded?.eventPublishedAt).toBeUndefined();

    // The next run comes while the dead publisher's claim is fresh: the Job must stay held.
    await reconcile(env.reconcileDeps);
    const held = await batch.readNamespacedJob({ name, namespace: "dropbuild" });
    expect(held.metadata?.finalizers).toContain("dropbuild.dev/record");

    // Once the claim is stale, a run publishes it and lets the Job go.
    await reconcile({ ...env.reconcileDeps, now: () => new Date(Date.now() + 5 * 60_000) });
    expect((await env.deps.store.get(id))?.eventPublishedAt).toBeDefined();
    const ours = (e: { detail: { id: string } }) => e.detail.id === id;
    const events = await env.outcomeEvents(1, 20_000, ours);
    expect(events.map((e) => [e["detail-type"], e.detail.id])).toEqual([["Build Succeeded", id]]);
    expect(await env.outcomeEvents(1, 3000, ours)).toEqual([]); // once
    const released = await batch.readNamespacedJob({ name, namespace: "dropbuild" }).catch(() => undefined);
    expect(released?.metadata?.finalizers ?? []).not.toContain("dropbuild.dev/record");
  });

  it("records a cancelled build, deletes its Job, and lets the reconciler release it", async () => {
    const id = await submitSample(env, "contexts/outcome/cancel/1.tar.gz", { DROPBUILD_SIMULATE_DURATION_MS: "60000" });
    await reconcileUntil(env, id, (r) => r.status === "RUNNING");

    const result = await cancelBuild(id, { ...env.reconcileDeps, namespace: "dropbuild" }, "the test");
    await reconcile(env.reconcileDeps);

    expect(result.outcome).toBe("cancelled");
    const record = await env.deps.store.get(id);
    expect(record).toMatchObject({ status: "CANCELLED", reason: "cancelled by the test" });
    await eventually("the cancelled Job to be deleted", () => jobGone(`dropbuild-${id}`));
    expect((await env.outcomeEvents(1)).map((e) => e["detail-type"])).toContain("Build Cancelled");
  });

  it("records a Job deleted by someone else as cancelled, with that reason", async () => {
    const id = await submitSample(env, "contexts/outcome/deleted/1.tar.gz", {
      DROPBUILD_SIMULATE_DURATION_MS: "60000",
    });
    await reconcileUntil(env, id, (r) => r.status === "RUNNING");
    const { batch } = admin();
    await batch.deleteNamespacedJob({
      name: `dropbuild-${id}`,
      namespace: "dropbuild",
      propagationPolicy: "Background",
    });

    const { record } = await reconcileUntil(env, id, finished);

    expect(record.status).toBe("CANCELLED");
    expect(record.reason).toBe("the Job was deleted before it finished");
    await eventually("the deleted Job to go once recorded", async () => {
      await reconcile(env.reconcileDeps);
      return jobGone(`dropbuild-${id}`);
    });
  });

  it("writes nothing on a run where nothing changed", async () => {
    await reconcile(env.reconcileDeps);
    const quiet = await reconcile(env.reconcileDeps);
    expect(quiet).toMatchObject({ recordsUpdated: 0, finalizersRemoved: 0, eventsPublished: 0, logsArchived: 0 });
  });

  it("re-creates the Job of a build left QUEUED without one", async () => {
    const id = await submitSample(env, "contexts/outcome/orphan/1.tar.gz");
    const { batch } = admin();
    // Simulate the trigger crashing after its record: the Job never existed.
    const name = `dropbuild-${id}`;
    const job = await batch.readNamespacedJob({ name, namespace: "dropbuild" });
    await batch.patchNamespacedJob(
      { name, namespace: "dropbuild", body: [{ op: "remove", path: "/metadata/finalizers" }] },
      (await import("@kubernetes/client-node")).setHeaderOptions("Content-Type", "application/json-patch+json"),
    );
    await batch.deleteNamespacedJob({ name, namespace: "dropbuild", propagationPolicy: "Foreground" });
    await eventually("the Job to be gone", () => jobGone(name));
    expect(job.metadata?.name).toBe(name);

    const later = { ...env.reconcileDeps, now: () => new Date(Date.now() + 10 * 60_000) };
    const report = await reconcile(later);

    expect(report.jobsRecreated).toBe(1);
    const { record } = await reconcileUntil(env, id, finished);
    expect(record.status).toBe("SUCCEEDED");
  });
});
