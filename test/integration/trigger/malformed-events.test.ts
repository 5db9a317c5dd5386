import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, paginateScan } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import type { BuildRecord } from "../../../src/build/record.js";
import { createLogger } from "../../../src/log.js";
import { createTriggerHandler, type TriggerResult } from "../../../src/trigger/handler.js";
import { admin, awsConfig } from "../../support/bed.js";
import { deployOnBed } from "../../support/deployment.js";
import { EVENT_CASES, type EventCase, slug } from "../../support/hostile-corpus.js";
import { gzip, sampleContext } from "../../support/tar.js";

interface Seen {
  results: TriggerResult[];
  errors: unknown[];
  /** Records of this case's upload, in whichever bucket the event named. */
  records: BuildRecord[];
  jobs: number;
}

// The hostile corpus's events: whatever the trigger is handed, it fails
// saying what arrived (Lambda then retries and parks it in the dead-letter
// queue), builds nothing for what is no upload, or records the upload.
describe("trigger: the hostile corpus's events", () => {
  const seen = new Map<EventCase, Seen>();

  beforeAll(async () => {
    const env = await deployOnBed();
    const handler = createTriggerHandler(env.deps, createLogger("events-test"));
    const keys = new Map<EventCase, string>();
    for (const c of EVENT_CASES) {
      const key = `contexts/events/${slug(c.name)}/1.tar.gz`;
      const body = gzip(sampleContext());
      const put = await env.upload(key, body);
      const upload = { bucket: env.bucket, key, etag: put.ETag ?? "", size: body.length, versionId: put.VersionId };
      const outcome: Seen = { results: [], errors: [], records: [], jobs: 0 };
      for (let i = 0; i < (c.deliveries ?? 1); i++) {
        try {
          outcome.results.push(await handler(c.event(upload) as never));
        } catch (error: unknown) {
          outcome.errors.push(error);
        }
      }
      seen.set(c, outcome);
      keys.set(c, key);
    }
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient(awsConfig()));
    const records: BuildRecord[] = [];
    for await (const page of paginateScan({ client: doc }, { TableName: env.table })) {
      records.push(...((page.Items ?? []) as BuildRecord[]));
    }
    const { batch } = admin();
    const jobs = await batch.listNamespacedJob({ namespace: env.config.namespace });
    for (const [c, outcome] of seen) {
      outcome.records = records.filter((r) => r.source.key === keys.get(c));
      const ids = new Set(outcome.records.map((r) => r.id));
      outcome.jobs = jobs.items.filter((j) => ids.has(j.metadata?.labels?.["dropbuild.dev/build-id"] ?? "")).length;
    }
  }, 180_000);

  it.each(EVENT_CASES)("$name", (c) => {
    const { results, errors, records, jobs } = seen.get(c) ?? { results: [], errors: [], records: [], jobs: 0 };
    const expected = c.expect;
    if ("fails" in expected) {
      expect(errors).toHaveLength(1);
      expect((errors[0] as Error).message).toMatch(expected.fails);
      expect(records).toHaveLength(expected.records ?? 0);
      return;
    }
    expect(errors).toEqual([]);
    if ("nothing" in expected) {
      expect({ results, records }).toEqual({ results: [{ results: [] }], records: [] });
    } else if ("ignored" in expected) {
      expect(results).toEqual([
        { results: [], ignored: [{ record: 1, reason: expect.stringMatching(expected.ignored) }] },
      ]);
      expect(records).toEqual([]);
    } else if ("rejected" in expected) {
      expect(records.map((r) => r.status)).toEqual(["REJECTED"]);
      expect(records[0]?.reason).toMatch(expected.rejected);
      expect(jobs).toBe(0);
    } else {
      // Accepted, however often S3 delivers it: one record, one Job.
      expect(results.map((r) => r.results.map((o) => o.outcome))).toEqual(
        Array.from({ length: c.deliveries ?? 1 }, (_, i) => [i === 0 ? "submitted" : "duplicate"]),
      );
      expect({ statuses: records.map((r) => r.status), jobs }).toEqual({ statuses: ["QUEUED"], jobs: 1 });
    }
  });

  it("orders a build whose eventTime is no time by the trigger's clock", () => {
    const c = EVENT_CASES.find((e) => e.name === "an eventTime that is no time");
    const record = c && seen.get(c)?.records[0];
    expect(record?.uploadedAt).toBeUndefined();
    expect(Math.abs(Date.parse(record?.submittedAt ?? "") - Date.now())).toBeLessThan(5 * 60_000);
  });
});
