import { describe, expect, it } from "vitest";
import { type BuildRecord, STATUS_RANK } from "../../../src/build/record.js";
import { createLogger } from "../../../src/log.js";
import { type ReconcileReport, reconcile } from "../../../src/reconcile/reconcile.js";
import { createTriggerHandler } from "../../../src/trigger/handler.js";
import { admin } from "../../support/bed.js";
import { deployOnBed } from "../../support/deployment.js";
import { queryByRepository } from "../../support/records.js";
import { gzip, sampleContext } from "../../support/tar.js";

const BUILDS = 50;
const REPOSITORY = "race/app";

describe("reconcile: concurrent runs", () => {
  it("three reconcilers at once over 50 Jobs keep records monotonic and release each Job exactly once", async () => {
    // Prepare: 50 builds of varying length, submitted through the real trigger path.
    const env = await deployOnBed({ env: { RECONCILE_PAGE_SIZE: "7" } });
    const handler = createTriggerHandler(env.deps, createLogger("race-test"));
    for (let i = 0; i < BUILDS; i += 1) {
      await env.upload(`contexts/${REPOSITORY}/${i}.tar.gz`, gzip(sampleContext()), {
        "build-args": JSON.stringify({ DROPBUILD_SIMULATE_DURATION_MS: String(200 + (i % 10) * 300) }),
      });
    }
    for (const event of await env.notifications(BUILDS, 60_000)) await handler(event);
    expect(await queryByRepository(env.config, REPOSITORY)).toHaveLength(BUILDS);

    // Act: three reconcilers, each looping, all at once, while the builds run.
    const reports: ReconcileReport[] = [];
    const highest = new Map<string, number>();
    const regressions: string[] = [];
    const watch = async () => {
      for (const record of await queryByRepository(env.config, REPOSITORY)) {
        const rank = STATUS_RANK[record.status];
        if (rank < (highest.get(record.id) ?? 0)) regressions.push(`${record.id} went back to ${record.status}`);
        highest.set(record.id, Math.max(rank, highest.get(record.id) ?? 0));
      }
    };
    const allDone = async () =>
      (await queryByRepository(env.config, REPOSITORY)).every(
        (r: BuildRecord) => r.status === "SUCCEEDED" && r.eventPublishedAt,
      );
    const reconciler = async () => {
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        reports.push(await reconcile(env.reconcileDeps));
        await watch();
        if ((await allDone()) && reports.length >= 6) return;
      }
    };
    await Promise.all([reconciler(), reconciler(), reconciler()]);
    // One last quiet pass to catch any finalizer a crash-free race could have left.
    reports.push(await reconcile(env.reconcileDeps));

    // Assess
    const records = await queryByRepository(env.config, REPOSITORY);
    expect(regressions).toEqual([]);
    expect(records.map((r) => r.status)).toEqual(Array(BUILDS).fill("SUCCEEDED"));
    for (const record of records) {
      expect(record.attempts).toBe(1);
      expect(record.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(record.durationSeconds).toBeGreaterThanOrEqual(0);
    }
    const { batch } = admin();
    const jobs = await batch.listNamespacedJob({
      namespace: "dropbuild",
      labelSelector: "dropbuild.dev/repository=race.app",
    });
    const held = jobs.items.filter((j) => j.metadata?.finalizers?.includes("dropbuild.dev/record"));
    expect(held.map((j) => j.metadata?.name)).toEqual([]);
    const removed = reports.reduce((sum, r) => sum + r.finalizersRemoved, 0);
    expect(removed).toBe(BUILDS);
    // Every build's outcome was published (at least once; one publisher wins each claim).
    const outcomes = await env.outcomeEvents(BUILDS, 30_000);
    expect(new Set(outcomes.map((e) => e.detail.id)).size).toBe(BUILDS);
  }, 180_000);
});
