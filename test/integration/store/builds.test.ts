import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { type BuildRecord, type BuildStatus, STATUS_RANK } from "../../../src/build/record.js";
import { ensureBuildsTable } from "../../../src/local/provision.js";
import { BuildStore } from "../../../src/store/builds.js";
import { makeBuildStore } from "../../../src/wiring.js";
import { awsConfig, uniqueName } from "../../support/bed.js";
import { bedConfig } from "../../support/deployment.js";

function record(id: string, status: BuildStatus, submittedAt: string): BuildRecord {
  return {
    id,
    status,
    statusRank: STATUS_RANK[status],
    repository: "store/app",
    tag: id,
    destinations: [`registry.test/store/app:${id}`],
    source: { bucket: "b", key: `contexts/store/app/${id}.tar.gz`, versionId: "1", etag: "e" },
    trigger: "upload",
    namespace: "dropbuild",
    jobName: `dropbuild-${id}`,
    submittedAt,
    attempts: 0,
    expiresAt: 2_000_000_000,
  };
}

describe("build store: the reads the reconciler and the live view lean on", () => {
  it("counts builds by status (optionally since a time) and lists old QUEUED builds by id and Job name only", async () => {
    const table = uniqueName("builds");
    await ensureBuildsTable(new DynamoDBClient(awsConfig()), table);
    const config = bedConfig({ BUILDS_TABLE: table });
    const store = makeBuildStore(config, awsConfig().credentials);
    const at = (minute: number) => `2026-11-25T10:${String(minute).padStart(2, "0")}:00.000Z`;
    for (let i = 0; i < 12; i++) await store.create(record(`q${i}`, "QUEUED", at(i)));
    for (let i = 0; i < 3; i++) await store.create(record(`s${i}`, "SUCCEEDED", at(i)));

    expect(await store.count("QUEUED")).toBe(12);
    expect(await store.count("QUEUED", at(10))).toBe(2);
    expect(await store.count("SUCCEEDED")).toBe(3);
    expect(await store.count("FAILED")).toBe(0);

    const page = await store.queuedBefore(at(5));
    expect(page.cursor).toBeUndefined();
    expect(page.builds.map((b) => b.id).sort()).toEqual(["q0", "q1", "q2", "q3", "q4"]);
    // Ids and Job names only: nothing else of the record is read.
    expect(page.builds[0]).toEqual({ id: expect.any(String), jobName: expect.stringMatching(/^dropbuild-q/) });
  });

  it("gives back the record that already has an id as a BuildRecord, read from the failed condition itself", async () => {
    // Prepare
    const table = uniqueName("builds");
    await ensureBuildsTable(new DynamoDBClient(awsConfig()), table);
    const client = new DynamoDBClient(awsConfig());
    const requests: string[] = [];
    client.middlewareStack.add(
      (next, context) => (args) => {
        requests.push(String(context.commandName));
        return next(args);
      },
      { step: "initialize" },
    );
    const store = new BuildStore(DynamoDBDocumentClient.from(client), table);
    const first = { ...record("dup", "QUEUED", "2026-11-25T10:00:00.000Z"), buildArgs: { VERSION: "1" } };
    await store.create(first);
    requests.length = 0;

    // Act: the same id again (a redelivered S3 event), with other content
    const again = await store.create({ ...first, status: "REJECTED", statusRank: STATUS_RANK.REJECTED, tag: "other" });

    // Assess: the stored record, typed as the table holds it (not DynamoDB's { "S": … } attribute values), no extra read
    expect(again).toEqual({ created: false, existing: first });
    expect(requests).toEqual(["PutItemCommand"]);
  });

  it("moves a record only as ALLOWED_MOVES says: forward, a new queue position, a later attempt", async () => {
    const table = uniqueName("builds");
    await ensureBuildsTable(new DynamoDBClient(awsConfig()), table);
    const store = makeBuildStore(bedConfig({ BUILDS_TABLE: table }), awsConfig().credentials);
    await store.create(record("moves", "QUEUED", "2026-11-25T10:00:00.000Z"));
    const steps: [BuildStatus, { attempts?: number; queuePosition?: number }, boolean][] = [
      ["QUEUED", { queuePosition: 2 }, true], // requeued
      ["QUEUED", { queuePosition: 1 }, true], // requeued again
      ["RUNNING", { attempts: 1 }, true], // forward
      ["QUEUED", { queuePosition: 1 }, false], // back: refused
      ["RUNNING", { attempts: 1 }, false], // the same attempt again: refused
      ["RUNNING", { attempts: 2 }, true], // retried
      ["SUCCEEDED", { attempts: 2 }, true], // forward to an outcome
      ["RUNNING", { attempts: 3 }, false], // a late RUNNING: refused
      ["FAILED", { attempts: 2 }, false], // one outcome to another: refused
    ];
    const results: boolean[] = [];
    for (const [status, changes] of steps) results.push(await store.advance("moves", status, changes));

    expect(results).toEqual(steps.map(([, , allowed]) => allowed));
    expect(await store.get("moves")).toMatchObject({ status: "SUCCEEDED", attempts: 2, queuePosition: 1 });
    expect(await store.advance("no-such-build", "RUNNING", { attempts: 1 })).toBe(false);
  });
});
