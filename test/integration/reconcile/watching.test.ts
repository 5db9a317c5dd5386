import { Watch } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../../src/log.js";
import { reconcileWatching } from "../../../src/reconcile/watching.js";
import { createTriggerHandler } from "../../../src/trigger/handler.js";
import { adminKubeConfig } from "../../support/bed.js";
import { countCalls } from "../../support/counting.js";
import { deployOnBed } from "../../support/deployment.js";
import { queryByRepository } from "../../support/records.js";
import { gzip, sampleContext } from "../../support/tar.js";

interface SeenJob {
  metadata?: { name?: string; resourceVersion?: string };
  spec?: { suspend?: boolean };
  status?: { conditions?: { type: string; status: string }[] };
}

const finished = (job: SeenJob) =>
  job.status?.conditions?.some((c) => ["Complete", "Failed"].includes(c.type) && c.status === "True") ?? false;

/**
 * Every state of a deployment's Jobs as the API server streams it (the
 * test's own watch, through client-node, not the reconciler's): the most
 * that were ever running (released and unfinished) at once. A watch the
 * API server or a loaded machine ends is re-opened from the last version
 * seen, so no state is missed; how often is kept for the failure message.
 */
async function watchRunning(table: string) {
  const jobs = new Map<string, SeenJob>();
  const ends: string[] = [];
  let most = 0;
  let version = "";
  let stopped = false;
  let controller: AbortController | undefined;
  const open = async (): Promise<void> => {
    controller = await new Watch(adminKubeConfig()).watch(
      "/apis/batch/v1/namespaces/dropbuild/jobs",
      { labelSelector: `dropbuild.dev/deployment=${table}`, ...(version ? { resourceVersion: version } : {}) },
      (phase: string, job: SeenJob) => {
        version = job.metadata?.resourceVersion ?? version;
        if (phase === "BOOKMARK") return;
        const name = job.metadata?.name ?? "";
        if (phase === "DELETED") jobs.delete(name);
        else jobs.set(name, job);
        const running = [...jobs.values()].filter((j) => j.spec?.suspend === false && !finished(j)).length;
        most = Math.max(most, running);
      },
      (error: unknown) => {
        if (stopped) return;
        ends.push(error ? String(error) : "ended");
        void open().catch((reopen: unknown) => ends.push(`re-open failed: ${String(reopen)}`));
      },
    );
  };
  await open();
  return {
    jobs,
    mostRunning: () => most,
    /** What the Jobs looked like when last seen: how many finished, and how the watch ended along the way. */
    summary: () => ({
      jobs: jobs.size,
      finished: [...jobs.values()].filter(finished).length,
      ends,
    }),
    stop: () => {
      stopped = true;
      controller?.abort();
    },
  };
}

describe("reconcile: a run that follows the Jobs", () => {
  it("50 concurrent uploads under a cap of 3: never more than 3 running, every outcome recorded and published by one run from one list", async () => {
    const env = await deployOnBed({ env: { MAX_CONCURRENT_BUILDS: "3" } });
    const repository = "watching/cap";
    const seen = await watchRunning(env.table);
    const { deps: counted, counts } = countCalls({ ...env.reconcileDeps, remainingMs: () => 300_000 });
    const stop = new AbortController();
    // One invocation's run, with a window long enough for all 50: everything after its first pass comes from the watch.
    const run = reconcileWatching(counted, { windowMs: 240_000, signal: stop.signal });

    // Builds of 2-4 s, so uploads pile up behind the cap even when the triggers run slowly (a loaded machine).
    const keys = Array.from({ length: 50 }, (_, i) => `contexts/${repository}/${i}.tar.gz`);
    await Promise.all(
      keys.map((key, i) =>
        env.upload(key, gzip(sampleContext()), {
          "build-args": JSON.stringify({ DROPBUILD_SIMULATE_DURATION_MS: String(2000 + (i % 5) * 500) }),
        }),
      ),
    );
    const handler = createTriggerHandler(env.deps, createLogger("watching-test"));
    await Promise.all((await env.notifications(50, 60_000)).map((event) => handler(event)));

    const deadline = Date.now() + 200_000;
    let records = await queryByRepository(env.config, repository);
    while (!(records.length === 50 && records.every((r) => r.status === "SUCCEEDED" && r.eventPublishedAt))) {
      if (Date.now() > deadline) throw new Error(`not all recorded: ${records.map((r) => r.status).join(",")}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      records = await queryByRepository(env.config, repository);
    }
    stop.abort();
    const report = await run;

    // The test's watch saw every Job to its end (else the most running it saw says little).
    await expect.poll(() => seen.summary().finished, { timeout: 10_000 }).toBe(50);
    seen.stop();
    expect(seen.mostRunning(), JSON.stringify(seen.summary())).toBeLessThanOrEqual(3);
    expect(seen.mostRunning(), JSON.stringify(seen.summary())).toBe(3);
    expect(report.released).toBe(50);
    expect(report.failures).toEqual([]);
    // The Jobs were listed once, by the run's first pass: every release and outcome after it came from following.
    expect(counts.listCalls).toBe(1);
    const outcomes = await env.outcomeEvents(50, 30_000);
    expect(new Set(outcomes.map((e) => e.detail.id)).size).toBe(50);
    // Concurrent uploads reach the cluster in any order, so strict upload order is not asserted here
    // (test/integration/rebuild/queue.test.ts does, for uploads one after another).
    expect(seen.jobs.size).toBe(50);
  }, 300_000);
});
