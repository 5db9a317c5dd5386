import { Validator } from "@seriousme/openapi-schema-validator";
import { beforeAll, describe, expect, it } from "vitest";
import { openApiDocument } from "../../../src/api/openapi.js";
import { buildCost } from "../../../src/build/cost.js";
import { KubernetesBuildCluster } from "../../../src/kube/cluster.js";
import { submitSample } from "../../support/builds.js";
import { deployOnBed } from "../../support/deployment.js";
import { DocumentedApi } from "../../support/openapi.js";
import { recordFixture } from "../../support/record-fixture.js";

const UNKNOWN = "00000000000000ff";
/** 1 vCPU and 2 GiB for 100 s at the default prices. */
const finishedCost = buildCost({ cpu: "1", memory: "2Gi" }, 100, {
  vcpuHour: 0.04048,
  gibHour: 0.004445,
  currency: "USD",
});
const BAD_ID = "NOT-AN-ID";

/**
 * The HTTP API driven from its OpenAPI document, on a real deployment on the
 * bed (moto, the real API server; Jobs held in the queue by a cap of 1).
 * Every answer is checked against the document (an undocumented status,
 * content type or body fails), and the last test checks that every
 * documented answer and parameter was exercised.
 */
describe("the HTTP API, as its OpenAPI document describes it", () => {
  let env: Awaited<ReturnType<typeof deployOnBed>>;
  let api: DocumentedApi;
  let withoutCluster: DocumentedApi;
  let clusterDown: DocumentedApi;
  const queued: string[] = [];
  const finished = recordFixture("SUCCEEDED", {
    id: "0a0a0a0a0a0a0a0a",
    repository: "oas/done",
    submittedAt: new Date(Date.now() - 3_600_000).toISOString(),
    startedAt: new Date(Date.now() - 3_500_000).toISOString(),
    finishedAt: new Date(Date.now() - 3_400_000).toISOString(),
    durationSeconds: 100,
    requests: { cpu: "1", memory: "2Gi" },
    cost: finishedCost,
    digest: `sha256:${"a".repeat(64)}`,
    expiresAt: 2_000_000_000,
  });
  const archivedLog = "INFO FROM busybox\nINFO RUN make\nINFO Pushing image\n";

  beforeAll(async () => {
    env = await deployOnBed({ env: { MAX_CONCURRENT_BUILDS: "1" } });
    for (const name of ["one", "two", "three"]) queued.push(await submitSample(env, `contexts/oas/${name}/1.0.tar.gz`));
    const logLocation = await env.reconcileDeps.logs.put(finished.id, archivedLog);
    await env.store.create({
      ...finished,
      logLocation,
      source: { bucket: env.bucket, key: "contexts/oas/done/1.0.tar.gz" },
    });
    api = new DocumentedApi(env.api());
    withoutCluster = new DocumentedApi(env.api({ cluster: undefined }));
    // The real client, with nothing to connect to: every cluster call fails as an outage would.
    const down = new KubernetesBuildCluster(async () => {
      throw new Error("connect ECONNREFUSED (no cluster in this test)");
    });
    clusterDown = new DocumentedApi(env.api({ cluster: down }));
  }, 120_000);

  it("is a valid OpenAPI 3.1 document, served at /openapi.json", async () => {
    const result = await new Validator().validate(structuredClone(openApiDocument));
    expect(result).toEqual({ valid: true });
    expect(openApiDocument.openapi).toBe("3.1.0");

    const served = await api.call("GET", "/openapi.json");
    expect(served.body).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
    expect((await api.call("GET", "/openapi.json", { format: "yaml" })).status).toBe(400);
    expect((await api.call("POST", "/openapi.json")).status).toBe(405);
  });

  it("lists builds with every filter, and pages with the cursor it hands out", async () => {
    const filtered = await api.call("GET", "/builds", {
      repository: "oas/one",
      status: "queued",
      since: "1h",
      until: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(filtered.status).toBe(200);
    expect((filtered.json.builds as { id: string }[]).map((b) => b.id)).toEqual([queued[0]]);

    const first = await api.call("GET", "/builds", { limit: "2" });
    const second = await api.call("GET", "/builds", { limit: "2", cursor: String(first.json.cursor) });
    const ids = [...(first.json.builds as { id: string }[]), ...(second.json.builds as { id: string }[])].map(
      (b) => b.id,
    );
    expect(ids).toEqual([queued[2], queued[1], queued[0], finished.id]);

    expect((await api.call("GET", "/builds", { status: "DONE" })).json.error).toMatch(/^status "DONE"/);
    expect((await api.call("POST", "/builds")).status).toBe(405);
  });

  it("totals a repository's costs over a range, and requires the repository", async () => {
    const costs = await api.call("GET", "/costs", { repository: "oas/done", since: "1d", until: "0s" });
    if (!finishedCost) throw new Error("the fixture has a cost");
    expect(costs.json).toMatchObject({
      repository: "oas/done",
      builds: 1,
      withoutCost: 0,
      vcpuSeconds: 100,
      gibSeconds: 200,
      estimate: finishedCost.estimate,
      currency: "USD",
      truncated: false,
    });
    const none = await api.call("GET", "/costs", { repository: "oas/one" });
    expect(none.json).toMatchObject({ builds: 0, withoutCost: 1, estimate: 0, truncated: false });
    expect((await api.call("GET", "/costs", { since: "1d" })).json.error).toBe(
      "repository is required: costs are totalled per repository",
    );
    expect((await api.call("POST", "/costs", { repository: "oas/done" })).status).toBe(405);
  });

  it("shows one build, and names a bad or unknown id", async () => {
    const shown = await api.call("GET", `/builds/${finished.id}`);
    expect(shown.json).toMatchObject({ id: finished.id, status: "SUCCEEDED", digest: finished.digest });
    expect((await api.call("GET", `/builds/${BAD_ID}`)).json.error).toMatch(/^id "NOT-AN-ID" is not a build id/);
    expect((await api.call("GET", `/builds/${UNKNOWN}`)).status).toBe(404);
    expect((await api.call("DELETE", `/builds/${finished.id}`)).status).toBe(405);
  });

  it("reads an archived log from an offset, and says why a queued build has none yet", async () => {
    const whole = await api.call("GET", `/builds/${finished.id}/log`);
    expect(whole.json).toMatchObject({ source: "archive", from: 0, text: archivedLog, complete: true });
    const rest = await api.call("GET", `/builds/${finished.id}/log`, { offset: "17" });
    expect(rest.json).toMatchObject({ from: 17, text: archivedLog.slice(17), offset: archivedLog.length });
    // An offset read in the archive ("") counts there; one read in a pod's live log does not.
    const archiveOffset = await api.call("GET", `/builds/${finished.id}/log`, { offset: "17", pod: "" });
    expect(archiveOffset.json).toMatchObject({ from: 17, text: archivedLog.slice(17) });
    const liveOffset = await api.call("GET", `/builds/${finished.id}/log`, { offset: "17", pod: "dropbuild-x-abcde" });
    expect(liveOffset.json).toMatchObject({ from: 0, text: archivedLog });
    expect((await api.call("GET", `/builds/${finished.id}/log`, { pod: "Not A Pod" })).json.error).toMatch(
      /^pod "Not A Pod" is not a pod name/,
    );

    const waiting = await api.call("GET", `/builds/${queued[0]}/log`);
    expect(waiting.json).toMatchObject({ source: "none", complete: false, note: "no logs yet: the build is QUEUED" });

    expect((await api.call("GET", `/builds/${finished.id}/log`, { offset: "x" })).json.error).toMatch(/^offset "x"/);
    expect((await api.call("GET", `/builds/${UNKNOWN}/log`)).status).toBe(404);
    expect((await api.call("POST", `/builds/${finished.id}/log`)).status).toBe(405);
    const down = await clusterDown.call("GET", `/builds/${queued[0]}/log`);
    expect(down.status).toBe(503);
    expect(down.json.error).toMatch(/^the cluster could not be reached/);
  });

  it("shows the queue in release order against the cap", async () => {
    const queue = await api.call("GET", "/queue");
    expect(queue.json.cap).toBe(1);
    expect(queue.json.running).toEqual([]);
    const waiting = queue.json.waiting as {
      id: string;
      position: number;
      startsNext: boolean;
      build?: { id: string };
    }[];
    expect(waiting.map((w) => [w.id, w.position, w.startsNext, w.build?.id])).toEqual([
      [queued[0], 1, true, queued[0]],
      [queued[1], 2, false, queued[1]],
      [queued[2], 3, false, queued[2]],
    ]);
    expect((await api.call("GET", "/queue", { cap: "2" })).status).toBe(400);
    expect((await api.call("POST", "/queue")).status).toBe(405);
    expect((await withoutCluster.call("GET", "/queue")).json.error).toBe(
      "this API has no cluster access to read the queue",
    );
  });

  it("serves the status page's list, build page and queue page, each refusing what it does not take", async () => {
    const list = await api.call("GET", "/", {
      repository: "oas/one",
      status: "QUEUED",
      since: "1d",
      until: "0s",
      limit: "10",
    });
    expect(list.status).toBe(200);
    expect(list.text).toContain(`data-build-id="${queued[0]}"`);
    const paged = await api.call("GET", "/", { limit: "1" });
    const cursor = /cursor=([^"&]+)/.exec(paged.text)?.[1];
    expect(cursor).toBeDefined();
    expect((await api.call("GET", "/", { limit: "1", cursor: decodeURIComponent(cursor ?? "") })).status).toBe(200);
    expect((await api.call("GET", "/", { status: "DONE" })).text).toContain("status &quot;DONE&quot; is not one of");
    const badCursor = await api.call("GET", "/", { cursor: "%%%not-a-cursor" });
    expect([badCursor.status, badCursor.contentType]).toEqual([400, "text/html"]);
    expect(badCursor.text).toContain("cursor &quot;%%%not-a-cursor&quot; is not one this API returned");
    expect((await api.call("POST", "/")).status).toBe(405);

    expect((await api.call("GET", `/ui/builds/${finished.id}`)).text).toContain("INFO RUN make");
    expect((await api.call("GET", `/ui/builds/${BAD_ID}`)).status).toBe(400);
    expect((await api.call("GET", `/ui/builds/${UNKNOWN}`)).status).toBe(404);
    expect((await api.call("POST", `/ui/builds/${finished.id}`)).status).toBe(405);

    expect((await api.call("GET", "/ui/queue")).text).toContain("0 of 1 slots in use");
    expect((await api.call("GET", "/ui/queue", { x: "1" })).status).toBe(400);
    expect((await api.call("POST", "/ui/queue")).status).toBe(405);
    expect((await withoutCluster.call("GET", "/ui/queue")).status).toBe(503);
  });

  it("cancels a queued build, and refuses a finished, unknown or malformed one", async () => {
    const cancelled = await api.call("POST", `/builds/${queued[2]}/cancel`);
    expect(cancelled.json).toMatchObject({ outcome: "cancelled", record: { id: queued[2], status: "CANCELLED" } });

    const again = await api.call("POST", `/builds/${finished.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ outcome: "already-finished", record: { status: "SUCCEEDED" } });
    expect((await api.call("POST", `/builds/${BAD_ID}/cancel`)).status).toBe(400);
    expect((await api.call("POST", `/builds/${UNKNOWN}/cancel`)).status).toBe(404);
    expect((await api.call("GET", `/builds/${queued[1]}/cancel`)).status).toBe(405);
    expect((await withoutCluster.call("POST", `/builds/${queued[1]}/cancel`)).status).toBe(503);
  });

  it("exercised every answer and every parameter the document lists", () => {
    const answered = new Set([...api.answered, ...withoutCluster.answered, ...clusterDown.answered]);
    const used = new Set([...api.parametersUsed, ...withoutCluster.parametersUsed, ...clusterDown.parametersUsed]);
    expect(api.documentedAnswers().filter((a) => !answered.has(a))).toEqual([]);
    expect(api.documentedParameters().filter((p) => !used.has(p))).toEqual([]);
  });
});
