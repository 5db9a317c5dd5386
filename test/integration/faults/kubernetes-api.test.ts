import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cancelBuild } from "../../../src/builds/cancel.js";
import { RECORD_FINALIZER } from "../../../src/kube/job.js";
import { createLogger } from "../../../src/log.js";
import { reconcile } from "../../../src/reconcile/reconcile.js";
import { reconcileWatching } from "../../../src/reconcile/watching.js";
import { createTriggerHandler } from "../../../src/trigger/handler.js";
import { admin, eventually } from "../../support/bed.js";
import { reconcileUntil, submitSample } from "../../support/builds.js";
import { countCalls } from "../../support/counting.js";
import { deployOnBed } from "../../support/deployment.js";
import type { FaultProxy } from "../../support/fault-proxy.js";
import { finishedBuilds, jobOf, kubernetesFaultProxy, recordsOf, throughProxies } from "../../support/faults.js";
import { lacks } from "../../support/needs.js";
import { queryByRepository } from "../../support/records.js";
import { gzip, sampleContext } from "../../support/tar.js";

const logger = createLogger("faults-test");

/**
 * The Kubernetes API failing in the ways it does in production — down,
 * slow, one endpoint answering 500 — while the trigger and the reconciler
 * run. The real API server answers everything the fault proxy lets through.
 */
const withoutBedApiServer = lacks("bed-control-plane", "a fault proxy serving the bed API server's own certificate");

describe.skipIf(withoutBedApiServer)("faults: the Kubernetes API", () => {
  let proxy: FaultProxy;

  beforeAll(async () => {
    proxy = await kubernetesFaultProxy();
  });
  afterAll(async () => {
    await proxy.close();
  });

  it("API server down during the trigger: the upload is recorded, the invocation fails to be retried, and its Job appears once the server is back", async () => {
    const env = await deployOnBed({ env: { QUEUED_GRACE_SECONDS: "1" } });
    const { deps, reconcileDeps } = throughProxies(env, { cluster: proxy });
    const handler = createTriggerHandler(deps, logger);
    const keys = ["contexts/faults/down/1.tar.gz", "contexts/faults/down/2.tar.gz"];
    for (const key of keys) await env.upload(key, gzip(sampleContext()));
    const [retried, parked] = await env.notifications(keys.length);
    if (!retried || !parked) throw new Error("expected two S3 notifications");

    proxy.setDown(true);
    try {
      // Lambda's three attempts of the second event, all while the server is down: each fails, nothing doubles.
      for (let attempt = 0; attempt < 3; attempt += 1) {
        await expect(handler(parked)).rejects.toThrow(
          /could not create Job dropbuild-\w+: .*(socket hang up|ECONNRESET)/,
        );
      }
      await expect(handler(retried)).rejects.toThrow(/could not create Job/);
    } finally {
      proxy.setDown(false);
    }
    const ours = await queryByRepository(env.config, "faults/down");
    expect(ours.map((b) => [b.source.key, b.status]).sort()).toEqual(keys.map((key) => [key, "QUEUED"]));
    for (const build of ours) expect(await jobOf(build.id)).toBeUndefined();

    // The first event's retry, with the server back, creates its Job.
    const outcome = await handler(retried);
    expect(outcome.results).toMatchObject([{ outcome: "submitted", job: "created" }]);
    // The second event's retries are spent (parked in the dead-letter queue); the reconciler's sweep creates its Job.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const report = await reconcile({ ...reconcileDeps, memory: undefined });
    expect(report.jobsRecreated).toBe(1);

    const ids = ours.map((b) => b.id);
    for (const id of ids) expect(await jobOf(id)).toBeDefined();
  });

  it("one Job whose pod log read fails with 500: every other build is settled and the queue released in the same run, and that one is recorded with a note saying why it has no logs", async () => {
    const env = await deployOnBed();
    const ids = await finishedBuilds(env, "faults/logs", 3);
    const [broken] = ids;
    // A fourth upload waits in the queue (a cap of 4: the deployment's setting from now on).
    const cap = 4;
    const capped = { ...env.deps, settings: { ...env.deps.settings, maxConcurrentBuilds: cap } };
    await env.upload("contexts/faults/logs/4.tar.gz", gzip(sampleContext()));
    const [event] = await env.notifications(1);
    if (!event) throw new Error("no S3 notification");
    const waiting = (await createTriggerHandler(capped, logger)(event)).results[0]?.id ?? "";
    expect((await jobOf(waiting))?.spec?.suspend).toBe(true);
    const viaProxy = throughProxies(env, { cluster: proxy }).reconcileDeps;
    const reconcileDeps = { ...viaProxy, settings: { ...viaProxy.settings, maxConcurrentBuilds: cap } };
    proxy.setRule((request) =>
      request.url?.includes(`dropbuild-${broken}`) && request.url.includes("/log")
        ? { status: 500, body: JSON.stringify({ kind: "Status", code: 500, message: "kubelet unreachable" }) }
        : undefined,
    );
    let report: Awaited<ReturnType<typeof reconcile>>;
    try {
      report = await reconcile(reconcileDeps);
    } finally {
      proxy.setRule(undefined);
    }

    expect(proxy.log.filter((r) => r.outcome === "answered").length).toBeGreaterThan(0);
    expect(report.failures).toEqual([]);
    expect(report.released).toBe(1);
    expect((await jobOf(waiting))?.spec?.suspend).toBe(false);
    const settled = await recordsOf(env, ids);
    expect(settled.map((r) => r.status)).toEqual(["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
    const brokenRecord = settled.find((r) => r.id === broken);
    expect(brokenRecord?.logLocation).toBeUndefined();
    expect(brokenRecord?.logNote).toMatch(
      /^no logs: the builder's log could not be read: .*answered 500: kubelet unreachable/,
    );
    for (const record of settled.filter((r) => r.id !== broken)) expect(record.logLocation).toMatch(/^s3:\/\//);
    const events = await env.outcomeEvents(3);
    expect(events.map((e) => e.detail.id).sort()).toEqual([...ids].sort());
  });

  it("API server answering in 5 s per request during a reconcile: the run stops inside its time, and the next finishes the work", async () => {
    const env = await deployOnBed();
    const ids = await finishedBuilds(env, "faults/slow", 4);
    const { reconcileDeps } = throughProxies(env, { cluster: proxy });
    proxy.setRule(() => ({ pass: true, delayMs: 5_000 }));
    const budgetMs = 25_000;
    const started = Date.now();
    try {
      await reconcile({ ...reconcileDeps, remainingMs: () => budgetMs - (Date.now() - started) });
    } finally {
      proxy.setRule(undefined);
    }
    // Lambda would have killed the run at its timeout: it returned before, leaving nothing half done.
    expect(Date.now() - started).toBeLessThan(budgetMs);
    for (const record of await recordsOf(env, ids)) {
      const job = await jobOf(record.id);
      if (record.status === "SUCCEEDED") expect(record.eventPublishedAt).toBeDefined();
      // A Job is only let go once its outcome is recorded and published.
      else expect(job?.metadata?.finalizers).toContain(RECORD_FINALIZER);
    }

    await reconcile(reconcileDeps);
    const settled = await recordsOf(env, ids);
    expect(settled.map((r) => r.status)).toEqual(ids.map(() => "SUCCEEDED"));
    const events = await env.outcomeEvents(ids.length);
    expect(events.map((e) => e.detail.id).sort()).toEqual([...ids].sort());
  }, 120_000);

  it("API server down while a run follows the Jobs: the run lists again once it is back, and releases and records what happened meanwhile", async () => {
    const env = await deployOnBed({ env: { MAX_CONCURRENT_BUILDS: "1" } });
    const { reconcileDeps } = throughProxies(env, { cluster: proxy });
    const { deps: counted, counts } = countCalls({ ...reconcileDeps, remainingMs: () => 300_000 });
    const interruptions: string[] = [];
    const stop = new AbortController();
    const run = reconcileWatching(counted, {
      windowMs: 180_000,
      signal: stop.signal,
      onInterrupted: (error) => interruptions.push(error),
    });
    try {
      const first = await submitSample(env, "contexts/faults/watch/1.tar.gz", {
        DROPBUILD_SIMULATE_DURATION_MS: "500",
      });
      await eventually("the first build recorded by following", async () =>
        (await recordsOf(env, [first]))[0]?.eventPublishedAt ? true : undefined,
      );
      expect(counts.listCalls).toBe(1);

      // Down: the watch's connection is cut, and the passes after it fail until the server is back.
      proxy.setDown(true);
      const second = await submitSample(env, "contexts/faults/watch/2.tar.gz", {
        DROPBUILD_SIMULATE_DURATION_MS: "500",
      });
      const third = await submitSample(env, "contexts/faults/watch/3.tar.gz", {
        DROPBUILD_SIMULATE_DURATION_MS: "500",
      });
      await eventually("the run to notice", async () => (interruptions.length > 0 ? true : undefined));
      proxy.setDown(false);

      const ids = [first, second, third];
      await eventually("every build recorded and published", async () =>
        (await recordsOf(env, ids)).every((r) => r.status === "SUCCEEDED" && r.eventPublishedAt) ? true : undefined,
      );
      stop.abort();
      const report = await run;
      expect(report.released).toBe(3);
      expect(counts.listCalls).toBeGreaterThanOrEqual(2);
      expect(interruptions[0]).toMatch(/watch|list/i);
    } finally {
      proxy.setDown(false);
      stop.abort();
      await run;
    }
  }, 240_000);

  it("a duplicate event arriving while the first is still running: one record, one Job, and both invocations succeed", async () => {
    const env = await deployOnBed();
    const { deps } = throughProxies(env, { cluster: proxy });
    const handler = createTriggerHandler(deps, logger);
    await env.upload("contexts/faults/dup/1.tar.gz", gzip(sampleContext()));
    const [event] = await env.notifications(1);
    if (!event) throw new Error("no S3 notification");
    // The first invocation's Job create takes 3 s; the duplicate arrives meanwhile.
    proxy.setRule((request) => (request.method === "POST" ? { pass: true, delayMs: 3_000 } : undefined));
    let outcomes: Awaited<ReturnType<typeof handler>>[];
    try {
      const first = handler(event);
      await new Promise((resolve) => setTimeout(resolve, 500));
      outcomes = await Promise.all([first, handler(event)]);
    } finally {
      proxy.setRule(undefined);
    }

    const results = outcomes.flatMap((o) => o.results);
    expect(new Set(results.map((r) => r.id)).size).toBe(1);
    const id = results[0]?.id ?? "";
    expect(results.map((r) => r.outcome)).toEqual(expect.arrayContaining(["submitted"]));
    expect(results.every((r) => ["submitted", "duplicate"].includes(r.outcome))).toBe(true);
    const { batch } = admin();
    const jobs = await batch.listNamespacedJob({
      namespace: "dropbuild",
      labelSelector: `dropbuild.dev/build-id=${id}`,
    });
    expect(jobs.items).toHaveLength(1);
    expect((await env.deps.store.get(id))?.status).toBe("QUEUED");
  });

  it("a cancel whose Job deletion fails: the record says CANCELLED, and the reconciler deletes the still-running Job and publishes the outcome once", async () => {
    const env = await deployOnBed();
    const id = await submitSample(env, "contexts/faults/cancel/1.tar.gz", { DROPBUILD_SIMULATE_DURATION_MS: "60000" });
    await reconcileUntil(env, id, (r) => r.status === "RUNNING");
    const { reconcileDeps } = throughProxies(env, { cluster: proxy });
    proxy.setRule((request) =>
      request.method === "DELETE" && request.url?.endsWith(`/jobs/dropbuild-${id}`)
        ? { status: 500, body: JSON.stringify({ kind: "Status", code: 500, message: "etcdserver: request timed out" }) }
        : undefined,
    );
    try {
      await expect(cancelBuild(id, { ...reconcileDeps, namespace: "dropbuild" }, "the test")).rejects.toThrow(
        /DELETE .*\/jobs\/dropbuild-\w+: the Kubernetes API answered 500: etcdserver: request timed out/,
      );
    } finally {
      proxy.setRule(undefined);
    }
    expect((await env.deps.store.get(id))?.status).toBe("CANCELLED");
    const running = await jobOf(id);
    expect(running?.metadata?.deletionTimestamp).toBeUndefined();

    const report = await reconcile(env.reconcileDeps);
    expect(report.cancelledJobsDeleted).toBe(1);
    await eventually("the cancelled Job gone", async () => {
      await reconcile(env.reconcileDeps);
      return (await jobOf(id)) ? undefined : true;
    });
    const events = await env.outcomeEvents(1, 10_000, (e) => e.detail.id === id);
    expect(events.map((e) => e["detail-type"])).toEqual(["Build Cancelled"]);
    expect(await env.outcomeEvents(1, 2_000, (e) => e.detail.id === id)).toEqual([]);
  });
});
