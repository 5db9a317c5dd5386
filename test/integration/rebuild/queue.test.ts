import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/log.js";
import { ReconcileMemory } from "../../../src/reconcile/memory.js";
import { reconcile } from "../../../src/reconcile/reconcile.js";
import { createTriggerHandler } from "../../../src/trigger/handler.js";
import { admin, awsConfig } from "../../support/bed.js";
import { countCalls } from "../../support/counting.js";
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
    // Each Job says when it left the queue: in upload order.
    const jobs = (await batch.listNamespacedJob({ namespace: "dropbuild", labelSelector: selector })).items;
    const annotation = (job: (typeof jobs)[number], name: string) => job.metadata?.annotations?.[name] ?? "";
    const byUpload = [...jobs].sort((a, b) =>
      annotation(a, "dropbuild.dev/queued-at").localeCompare(annotation(b, "dropbuild.dev/queued-at")),
    );
    const releasedAt = byUpload.map((job) => annotation(job, "dropbuild.dev/released-at"));
    expect(releasedAt.every(Boolean)).toBe(true);
    expect(releasedAt).toEqual([...releasedAt].sort());
    expect((await queryByRepository(env.config, "queue/app")).map((r) => r.status)).toEqual(Array(6).fill("SUCCEEDED"));
  }, 150_000);

  it("a run over a waiting queue reads only the builds in motion; a cold reconciler re-reads and corrects positions", async () => {
    const env = await deployOnBed({ env: { MAX_CONCURRENT_BUILDS: "1" } });
    for (let i = 0; i < 4; i++) {
      await env.upload(`contexts/queue/idle/${i}.tar.gz`, gzip(sampleContext()), {
        "build-args": JSON.stringify({ DROPBUILD_SIMULATE_DURATION_MS: "60000" }),
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const handler = createTriggerHandler(env.deps, createLogger("queue-test"));
    for (const event of await env.notifications(4)) await handler(event);
    const { deps: counted, counts } = countCalls(env.reconcileDeps);
    const waitingPositions = async () =>
      (await queryByRepository(env.config, "queue/idle"))
        .filter((r) => r.status === "QUEUED" && r.queuePosition !== undefined)
        .map((r) => r.queuePosition)
        .sort();

    // First run (cold): releases the oldest, reads the 3 waiting records once and writes their places.
    const first = await reconcile(counted);
    expect(first.released).toBe(1);
    expect(counts.recordsRead).toBe(3);
    expect(counts.writes).toBe(3);
    expect(await waitingPositions()).toEqual([1, 2, 3]);

    // Until the released build is recorded RUNNING, then a run where nothing moved.
    const deadline = Date.now() + 30_000;
    while (!(await queryByRepository(env.config, "queue/idle")).some((r) => r.status === "RUNNING")) {
      if (Date.now() > deadline) throw new Error("the released build never ran");
      await reconcile(counted);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    counts.reset();
    await reconcile(counted);
    expect(counts.recordsRead).toBe(1); // the running build's record only
    expect(counts.writes).toBe(0);

    // A fresh container knows nothing: it reads the waiting records, finds them right, writes nothing…
    counts.reset();
    await reconcile({ ...counted, memory: new ReconcileMemory() });
    expect(counts.recordsRead).toBe(4);
    expect(counts.writes).toBe(0);

    // …and puts right a place that is wrong in the table.
    const [, second] = (await queryByRepository(env.config, "queue/idle"))
      .filter((r) => r.status === "QUEUED" && r.queuePosition !== undefined)
      .sort((a, b) => (a.queuePosition ?? 0) - (b.queuePosition ?? 0));
    if (!second) throw new Error("expected a second waiting build");
    await DynamoDBDocumentClient.from(new DynamoDBClient(awsConfig())).send(
      new UpdateCommand({
        TableName: env.table,
        Key: { id: second.id },
        UpdateExpression: "SET queuePosition = :p",
        ExpressionAttributeValues: { ":p": 9 },
      }),
    );
    counts.reset();
    await reconcile({ ...counted, memory: new ReconcileMemory() });
    expect(counts.writes).toBe(1);
    expect(await waitingPositions()).toEqual([1, 2, 3]);
  }, 90_000);

  it("releases a Job that changed since it was listed, but never one already released", async () => {
    const env = await deployOnBed({ env: { MAX_CONCURRENT_BUILDS: "1" } });
    await env.upload("contexts/queue/stale/1.tar.gz", gzip(sampleContext()));
    const handler = createTriggerHandler(env.deps, createLogger("queue-test"));
    for (const event of await env.notifications(1)) await handler(event);
    const { batch } = admin();
    // Listed as the reconciler lists it: the API server's JSON, slimmed.
    const [listed] = (await env.reconcileDeps.cluster.listJobs("dropbuild", env.table, 10)).jobs;
    if (!listed?.metadata?.name) throw new Error("no Job");
    expect(listed.spec?.suspend).toBe(true);
    // Someone else writes the Job after we listed it (as the Job controller does with a new Job's status).
    await batch.patchNamespacedJob(
      {
        name: listed.metadata.name,
        namespace: "dropbuild",
        body: [{ op: "add", path: "/metadata/labels/touched", value: "yes" }],
      },
      (await import("@kubernetes/client-node")).setHeaderOptions("Content-Type", "application/json-patch+json"),
    );

    expect(await env.reconcileDeps.cluster.release(listed, new Date("2026-11-25T10:00:00Z"))).toBe(true);
    const released = await batch.readNamespacedJob({ name: listed.metadata.name, namespace: "dropbuild" });
    expect(released.spec?.suspend).toBe(false);
    expect(released.metadata?.annotations?.["dropbuild.dev/released-at"]).toBe("2026-11-25T10:00:00.000Z");
    expect(await env.reconcileDeps.cluster.release(listed, new Date())).toBe(false);
  }, 30_000);
});
