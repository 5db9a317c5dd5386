import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, paginateScan } from "@aws-sdk/lib-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import type { BuildRecord } from "../../../src/build/record.js";
import { createLogger } from "../../../src/log.js";
import { createTriggerHandler, type TriggerResult } from "../../../src/trigger/handler.js";
import { admin, awsConfig } from "../../support/bed.js";
import { deployOnBed } from "../../support/deployment.js";
import { CORPUS_LIMITS, s3EventKey, s3Record, UPLOAD_CASES, type UploadCase } from "../../support/hostile-corpus.js";

interface Seen {
  result?: TriggerResult;
  error?: unknown;
  record?: BuildRecord;
  jobs: number;
}

/** Every record in a deployment's table (a test may scan; the product never does). */
async function allRecords(table: string): Promise<BuildRecord[]> {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(awsConfig()));
  const records: BuildRecord[] = [];
  for await (const page of paginateScan({ client: doc }, { TableName: table })) {
    records.push(...((page.Items ?? []) as BuildRecord[]));
  }
  return records;
}

// The hostile corpus's uploads (keys, archives, metadata), each put into S3
// and handed to the real trigger as S3 would announce it: one record each,
// REJECTED with its reason and no Job, or QUEUED with its Job.
describe("trigger: the hostile corpus's uploads", () => {
  const seen = new Map<UploadCase, Seen>();
  let records: BuildRecord[] = [];

  beforeAll(async () => {
    const env = await deployOnBed({
      env: {
        CONTEXT_MAX_ENTRIES: String(CORPUS_LIMITS.maxEntries),
        CONTEXT_MAX_BYTES: String(CORPUS_LIMITS.maxBytes),
        CONTEXT_MAX_UPLOAD_BYTES: String(CORPUS_LIMITS.maxUploadBytes),
      },
    });
    const handler = createTriggerHandler(env.deps, createLogger("hostile-test"));
    for (const upload of UPLOAD_CASES) {
      const body = upload.body();
      const put = await env.upload(upload.key, body, upload.metadata);
      const object = {
        bucket: env.bucket,
        key: upload.key,
        etag: put.ETag ?? "",
        size: body.length,
        versionId: put.VersionId,
      };
      const record = s3Record(object, { key: upload.eventKey ?? s3EventKey(upload.key) });
      const outcome: Seen = { jobs: 0 };
      try {
        outcome.result = await handler({ Records: [record] } as never);
      } catch (error: unknown) {
        outcome.error = error;
      }
      seen.set(upload, outcome);
    }
    records = await allRecords(env.table);
    const { batch } = admin();
    const jobs = await batch.listNamespacedJob({ namespace: env.config.namespace });
    for (const outcome of seen.values()) {
      const id = outcome.result?.results[0]?.id;
      outcome.record = records.find((r) => r.id === id);
      outcome.jobs = jobs.items.filter((j) => id && j.metadata?.labels?.["dropbuild.dev/build-id"] === id).length;
    }
  }, 300_000);

  it.each(UPLOAD_CASES)("$kind: $name", (upload) => {
    const { result, error, record, jobs } = seen.get(upload) ?? { jobs: 0 };
    expect(error).toBeUndefined();
    expect(result?.results).toHaveLength(1);
    if ("rejected" in upload.expect) {
      expect({ status: record?.status, jobName: record?.jobName, jobs }).toEqual({
        status: "REJECTED",
        jobName: undefined,
        jobs: 0,
      });
      expect(record?.reason).toMatch(upload.expect.rejected);
    } else {
      expect({ status: record?.status, reason: record?.reason, jobs }).toEqual({
        status: "QUEUED",
        reason: undefined,
        jobs: 1,
      });
      if (upload.expect.tags) {
        expect(record?.destinations.map((d) => d.slice(d.lastIndexOf(":") + 1))).toEqual(upload.expect.tags);
      }
    }
  });

  it("decodes the keys as S3 spells them in its events", () => {
    for (const upload of UPLOAD_CASES.filter((u) => u.kind === "key")) {
      const { record } = seen.get(upload) ?? {};
      const undecodable = /not valid URL encoding/.test(record?.reason ?? "");
      expect(record?.source.key, upload.name).toBe(undecodable ? upload.eventKey : upload.key);
    }
  });

  it("records every upload exactly once: none unrecorded, none twice", () => {
    const ids = [...seen.values()].map((s) => s.result?.results[0]?.id);
    expect(new Set(ids).size).toBe(UPLOAD_CASES.length);
    expect(records.map((r) => r.id).sort()).toEqual([...ids].sort());
  });
});
