import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RECORD_FINALIZER } from "../../../src/kube/job.js";
import { fileLogger } from "../../../src/log.js";
import { createReconcileHandler } from "../../../src/reconcile/handler.js";
import { reconcile } from "../../../src/reconcile/reconcile.js";
import { functionDeps } from "../../../src/wiring.js";
import { deployOnBed } from "../../support/deployment.js";
import type { FaultProxy } from "../../support/fault-proxy.js";
import { awsFaultProxy, finishedBuilds, jobOf, recordsOf, throughProxies } from "../../support/faults.js";

type Deployment = Awaited<ReturnType<typeof deployOnBed>>;
const THROTTLED = {
  status: 400,
  body: JSON.stringify({
    __type: "com.amazonaws.dynamodb.v20120810#ThrottlingException",
    message: "Rate of requests exceeds the allowed throughput.",
  }),
};

/** Nothing moved on while the fault lasted: every record still unsettled, every Job still held. */
async function expectHeld(env: Deployment, ids: string[]) {
  for (const record of await recordsOf(env, ids)) {
    expect(record.status).not.toBe("SUCCEEDED");
    expect((await jobOf(record.id))?.metadata?.finalizers).toContain(RECORD_FINALIZER);
  }
}

/** With the fault gone, one run records every outcome and publishes each once. */
async function expectRecoveredBy(env: Deployment, ids: string[]) {
  const report = await reconcile(env.reconcileDeps);
  expect(report.failures).toEqual([]);
  expect((await recordsOf(env, ids)).map((r) => r.status)).toEqual(ids.map(() => "SUCCEEDED"));
  const events = await env.outcomeEvents(ids.length, 10_000);
  expect(events.map((e) => e.detail.id).sort()).toEqual([...ids].sort());
}

/**
 * AWS failing under the reconciler: the table throttling or unreachable, the
 * emulator going away mid-run. The real emulator answers whatever the fault
 * proxy lets through.
 */
describe("faults: the table and the emulator", () => {
  let proxy: FaultProxy;

  beforeAll(async () => {
    proxy = await awsFaultProxy();
  });
  afterAll(async () => {
    await proxy.close();
  });

  it("the table throttling writes during a reconcile: each build's failure is reported, nothing is released, and the next run records every outcome once", async () => {
    const env = await deployOnBed();
    const ids = await finishedBuilds(env, "faults/throttled", 3);
    const { reconcileDeps } = throughProxies(env, { table: proxy });
    proxy.setRule((request) =>
      String(request.headers["x-amz-target"]).endsWith(".UpdateItem") ? THROTTLED : undefined,
    );
    // Through the scheduled handler, as Lambda runs it, logging to a file the test reads.
    const logFile = join(mkdtempSync(join(tmpdir(), "faults-")), "reconcile.log");
    const handler = createReconcileHandler(reconcileDeps, fileLogger("dropbuild-reconcile", logFile), 0);
    let report: Awaited<ReturnType<typeof reconcile>>;
    try {
      report = await handler(() => 60_000);
    } finally {
      proxy.setRule(undefined);
    }

    expect(report.failures.map((f) => f.buildId).sort()).toEqual([...ids].sort());
    for (const failure of report.failures)
      expect(failure.error).toMatch(/^Rate of requests exceeds the allowed throughput/);
    // Each failure is its own error line, searchable by build id.
    const lines = readFileSync(logFile, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { level: string; buildId?: string; error?: string });
    const errors = lines.filter((line) => line.level === "ERROR");
    expect(errors.map((line) => line.buildId).sort()).toEqual([...ids].sort());
    await expectHeld(env, ids);
    await expectRecoveredBy(env, ids);
  });

  it("the table unavailable during a reconcile: the run fails saying so, nothing is released, and the next run records every outcome once", async () => {
    const env = await deployOnBed();
    const ids = await finishedBuilds(env, "faults/tabledown", 2);
    const { reconcileDeps } = throughProxies(env, { table: proxy });
    proxy.setDown(true);
    try {
      await expect(reconcile(reconcileDeps)).rejects.toThrow(/socket hang up|ECONNRESET|ECONNREFUSED/);
    } finally {
      proxy.setDown(false);
    }

    await expectHeld(env, ids);
    await expectRecoveredBy(env, ids);
  });

  it("the emulator going away mid-run (every AWS connection cut, then refused for 2 s): nothing is lost, and every outcome is recorded and published", async () => {
    const env = await deployOnBed();
    const ids = await finishedBuilds(env, "faults/restart", 4);
    // Every AWS call of the reconciler through the proxy; the cluster as deployed.
    const viaProxy = functionDeps({ ...env.config, awsEndpoint: proxy.url }, env.credentials).reconcile;
    const deps = { ...viaProxy, cluster: env.reconcileDeps.cluster, remainingMs: () => 60_000 };
    // The emulator goes away when the run publishes its first outcome: the rest of that run meets a dead endpoint.
    let restarted = false;
    proxy.setRule((request) => {
      if (restarted || String(request.headers["x-amz-target"]) !== "AWSEvents.PutEvents") return undefined;
      restarted = true;
      proxy.setDown(true);
      setTimeout(() => proxy.setDown(false), 2_000);
      return { drop: true };
    });
    try {
      const report = await reconcile(deps).catch((error: unknown) => error);
      expect(restarted).toBe(true);
      // Either the run failed on a call it could not do without AWS, or it reported the Jobs it could not settle.
      if (!(report instanceof Error)) expect((report as { failures: unknown[] }).failures.length).toBeGreaterThan(0);
    } finally {
      proxy.setRule(undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 2_100));

    // The next runs record and publish everything. The cut run left its claim on the outcome it was
    // publishing; a claim goes stale after a minute, so these runs are a minute and more later.
    const later = { ...deps, now: () => new Date(Date.now() + 61_000) };
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      await reconcile(later);
      const all = await recordsOf(env, ids);
      if (all.every((r) => r.status === "SUCCEEDED" && r.eventPublishedAt)) break;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
    const settled = await recordsOf(env, ids);
    expect(settled.map((r) => [r.status, Boolean(r.eventPublishedAt)])).toEqual(ids.map(() => ["SUCCEEDED", true]));
    const events = await env.outcomeEvents(ids.length, 10_000);
    expect(new Set(events.map((e) => e.detail.id))).toEqual(new Set(ids));
    for (const id of ids) expect((await jobOf(id))?.metadata?.finalizers ?? []).not.toContain(RECORD_FINALIZER);
  }, 150_000);
});
