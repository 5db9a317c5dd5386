import { beforeAll, describe, expect, it } from "vitest";
import { KubernetesBuildCluster } from "../../../src/kube/cluster.js";
import { createLogger } from "../../../src/log.js";
import { reconcile } from "../../../src/reconcile/reconcile.js";
import { createTriggerHandler } from "../../../src/trigger/handler.js";
import { deployOnBed } from "../../support/deployment.js";
import { lacks } from "../../support/needs.js";
import { queryByRepository } from "../../support/records.js";
import { gzip, sampleContext } from "../../support/tar.js";

const logger = createLogger("refused-jobs-test");

/** Upload a sample context and hand its S3 notification to `handler`. */
async function uploadAndTrigger(
  env: Awaited<ReturnType<typeof deployOnBed>>,
  key: string,
  handler: ReturnType<typeof createTriggerHandler>,
) {
  await env.upload(key, gzip(sampleContext()));
  const [event] = await env.notifications(1);
  if (!event) throw new Error("no notification arrived");
  return handler(event);
}

const withoutRbac = lacks(
  "emulated-eks",
  "the functions' own identity, which infra/k8s's RBAC refuses outside dropbuild",
);

describe("trigger and reconciler: a Job the cluster refuses for good ends the build", () => {
  // The functions' RBAC (infra/k8s) covers the dropbuild namespace only: "default" answers 403.
  let forbidden: Awaited<ReturnType<typeof deployOnBed>>;
  // A CPU request above its limit makes every Job invalid: 422.
  let invalid: Awaited<ReturnType<typeof deployOnBed>>;

  beforeAll(async () => {
    forbidden = await deployOnBed({ env: { BUILD_NAMESPACE: "default" } });
    invalid = await deployOnBed({ env: { BUILD_CPU_REQUEST: "4", BUILD_CPU_LIMIT: "2", QUEUED_GRACE_SECONDS: "0" } });
  });

  it.skipIf(withoutRbac)(
    "records FAILED with the API's reason when creating the Job is forbidden (403), and does not ask for a retry",
    async () => {
      // Act: the invocation succeeds, so Lambda neither retries nor parks the event.
      const result = await uploadAndTrigger(
        forbidden,
        "contexts/refused/forbidden/1.tar.gz",
        createTriggerHandler(forbidden.deps, logger),
      );

      // Assess
      const [record] = await queryByRepository(forbidden.config, "refused/forbidden");
      expect(result.results).toEqual([{ outcome: "failed", id: record?.id, reason: record?.reason }]);
      expect(record?.status).toBe("FAILED");
      expect(record?.reason).toMatch(
        /^the cluster refused the build's Job \(403 Forbidden\): .*cannot create resource "jobs"/,
      );
      expect(record?.finishedAt).toBeDefined();
      // Published like every outcome.
      const events = await forbidden.outcomeEvents(1, 10_000, (e) => e.detail.id === record?.id);
      expect(events.map((e) => [e["detail-type"], e.detail.status])).toEqual([["Build Failed", "FAILED"]]);
    },
  );

  it("records FAILED with the API's reason when the Job is invalid (422)", async () => {
    await uploadAndTrigger(invalid, "contexts/refused/invalid/1.tar.gz", createTriggerHandler(invalid.deps, logger));

    const [record] = await queryByRepository(invalid.config, "refused/invalid");
    expect(record?.status).toBe("FAILED");
    expect(record?.reason).toMatch(/^the cluster refused the build's Job \(422 Unprocessable Entity\): .*cpu limit/);
  });

  it("fails a QUEUED build whose lost Job the sweep cannot re-create, once, instead of failing every run", async () => {
    // Prepare: the trigger found the cluster unreachable, so the build is QUEUED with no Job.
    const unreachable = { server: "https://127.0.0.1:9", token: "t", insecureSkipTLSVerify: true };
    const outage = createTriggerHandler(
      { ...invalid.deps, cluster: new KubernetesBuildCluster(async () => unreachable) },
      logger,
    );
    await expect(uploadAndTrigger(invalid, "contexts/refused/sweep/1.tar.gz", outage)).rejects.toThrow(
      /could not create Job/,
    );
    const [queued] = await queryByRepository(invalid.config, "refused/sweep");
    expect(queued?.status).toBe("QUEUED");

    // Act: two reconcile runs after the grace period.
    const later = { ...invalid.reconcileDeps, now: () => new Date(Date.now() + 60_000) };
    const first = await reconcile(later);
    const second = await reconcile({ ...later, now: () => new Date(Date.now() + 120_000) });

    // Assess
    const [record] = await queryByRepository(invalid.config, "refused/sweep");
    expect(record?.status).toBe("FAILED");
    expect(record?.reason).toMatch(/^the cluster refused the build's Job \(422 Unprocessable Entity\)/);
    expect(first).toMatchObject({ jobsRecreated: 0, jobsRefused: 1 });
    expect(second).toMatchObject({ jobsRecreated: 0, jobsRefused: 0 });
    const events = await invalid.outcomeEvents(1, 10_000, (e) => e.detail.id === record?.id);
    expect(events.map((e) => e["detail-type"])).toEqual(["Build Failed"]);
  });

  it("publishes a rejected upload's outcome; when publishing fails, the retried event publishes it, once", async () => {
    const env = await deployOnBed();
    await env.upload("contexts/refused/rejected/1.tar.gz", Buffer.from("not a tarball"));
    const [event] = await env.notifications(1);
    if (!event) throw new Error("no notification arrived");
    const down = {
      publish: async () => {
        throw new Error("EventBridge is down");
      },
    };

    // The first attempt records REJECTED, then cannot publish: the invocation fails, to be retried.
    await expect(createTriggerHandler({ ...env.deps, events: down }, logger)(event)).rejects.toThrow(
      "EventBridge is down",
    );
    const [recorded] = await queryByRepository(env.config, "refused/rejected");
    expect(recorded?.status).toBe("REJECTED");
    expect(recorded?.eventPublishedAt).toBeUndefined();
    // Lambda's retry, a minute later (the failed attempt's claim has gone stale).
    const later = { ...env.deps, now: () => new Date(Date.now() + 61_000) };
    const retry = await createTriggerHandler(later, logger)(event);

    expect(retry.results).toMatchObject([{ outcome: "duplicate", status: "REJECTED" }]);
    const events = await env.outcomeEvents(1, 10_000, (e) => e.detail.id === recorded?.id);
    expect(events.map((e) => [e["detail-type"], e.detail.reason])).toEqual([["Build Rejected", recorded?.reason]]);
    expect(await env.outcomeEvents(1, 2_000, (e) => e.detail.id === recorded?.id)).toEqual([]);
  });
});
