import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/log.js";
import { reconcile } from "../../../src/reconcile/reconcile.js";
import { createTriggerHandler } from "../../../src/trigger/handler.js";
import { admin } from "../../support/bed.js";
import { deployOnBed } from "../../support/deployment.js";
import { queryByRepository } from "../../support/records.js";
import { gzip, sampleContext } from "../../support/tar.js";

describe("build queue inside Kubernetes", () => {
  it("with a cap of 2 and 6 uploads: never more than 2 running, released in upload order, all succeed", async () => {
    const env = await deployOnBed({ env: { MAX_CONCURRENT_BUILDS: "2" } });
    const keys = Array.from({ length: 6 }, (_, i) => `contexts/queue/app/${i}.tar.gz`);
    for (const key of keys) {
      await env.upload(key, gzip(sampleContext()), {
        "build-args": JSON.stringify({ DROPBUILD_SIMULATE_DURATION_MS: "1500" }),
      });
      await new Promise((resolve) => setTimeout(resolve, 20)); // distinct upload times
    }
    const handler = createTriggerHandler(env.deps, createLogger("queue-test"));
    // SQS does not keep order; the queue's order is the upload time the events carry.
    for (const event of (await env.notifications(6)).reverse()) await handler(event);

    const { batch } = admin();
    const selector = `dropbuild.dev/deployment=${env.table}`;
    const released = new Set<string>();
    const notFifo: string[] = [];
    let mostRunning = 0;
    let positionsSeen = false;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      await reconcile(env.reconcileDeps);
      const jobs = (await batch.listNamespacedJob({ namespace: "dropbuild", labelSelector: selector })).items;
      expect(jobs).toHaveLength(6);
      const running = jobs.filter(
        (j) =>
          !j.spec?.suspend &&
          !j.status?.conditions?.some((c) => ["Complete", "Failed"].includes(c.type) && c.status === "True"),
      );
      mostRunning = Math.max(mostRunning, running.length);
      for (const job of jobs) {
        if (!job.spec?.suspend) released.add(job.metadata?.annotations?.["dropbuild.dev/source-key"] ?? "");
      }
      // FIFO: whatever has been released so far is always the oldest uploads.
      const prefix = keys.slice(0, released.size);
      if (!prefix.every((k) => released.has(k))) notFifo.push(`released ${[...released].sort().join(",")}`);
      const records = await queryByRepository(env.config, "queue/app");
      positionsSeen ||= records.some((r) => r.status === "QUEUED" && r.queuePosition === 4);
      if (records.length === 6 && records.every((r) => r.status === "SUCCEEDED")) break;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }

    expect(mostRunning).toBeLessThanOrEqual(2);
    expect(notFifo).toEqual([]);
    expect(released.size).toBe(6);
    expect(positionsSeen).toBe(true);
    expect((await queryByRepository(env.config, "queue/app")).map((r) => r.status)).toEqual(Array(6).fill("SUCCEEDED"));
  }, 150_000);
});
