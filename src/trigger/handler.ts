import type { S3Event } from "aws-lambda";
import * as z from "zod/mini";
import type { Logger } from "../log.js";
import { errorMessage } from "../util/error-message.js";
import { type SubmitDeps, type SubmitOutcome, submitUpload, type UploadNotice } from "./submit-upload.js";

/** What an invocation did; Lambda ignores it for async invocations, `dropbuild redrive` reads it. */
export interface TriggerResult {
  results: SubmitOutcome[];
  /** Records that were not uploads (another S3 event type): nothing to build, and why. */
  ignored?: { record: number; reason: string }[];
}

/**
 * The event is not an S3 notification the trigger can read. The invocation
 * fails with this message, so Lambda retries it and then parks it in the
 * dead-letter queue, where the message says what arrived: nothing is
 * dropped without a trace.
 */
export class MalformedEventError extends Error {
  override name = "MalformedEventError";
}

const S3EventRecord = z.object({
  eventName: z.optional(z.string()),
  eventTime: z.optional(z.string()),
  s3: z.object({
    bucket: z.object({ name: z.string().check(z.minLength(1)) }),
    object: z.object({
      key: z.string().check(z.minLength(1)),
      versionId: z.optional(z.string()),
      eTag: z.optional(z.string()),
      size: z.optional(z.number()),
    }),
  }),
});

/** S3 writes eventTime as an ISO time in UTC; anything else would misorder the queue, so the trigger's clock stands in. */
const EVENT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
/** S3 names upload events ObjectCreated:Put, :Post, :Copy, :CompleteMultipartUpload (some tools prefix "s3:"). */
const UPLOAD_EVENT = /^(s3:)?ObjectCreated:/;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A few words on what arrived, for a message: its type, or its first keys. */
function described(value: unknown): string {
  if (!isObject(value)) return Array.isArray(value) ? "an array" : value === null ? "null" : `a ${typeof value}`;
  const keys = Object.keys(value).slice(0, 5);
  return keys.length
    ? `an object with ${keys.map((k) => JSON.stringify(k.slice(0, 40))).join(", ")}`
    : "an empty object";
}

/** The event's records, "test" for S3's test event, or a MalformedEventError saying what arrived instead. */
function recordsOf(event: unknown): unknown[] | "test" {
  if (isObject(event) && event.Event === "s3:TestEvent") return "test";
  if (isObject(event) && Array.isArray(event.Records)) return event.Records;
  if (isObject(event) && typeof event["detail-type"] === "string") {
    throw new MalformedEventError(
      `the trigger received an EventBridge event ("${event["detail-type"].slice(0, 60)}"), not an S3 event notification; point the bucket's notification at the trigger`,
    );
  }
  throw new MalformedEventError(
    `the trigger received ${described(event)}, not an S3 event notification (no Records list)`,
  );
}

/** The upload a record announces, or why there is none (another event type); throws MalformedEventError when unreadable. */
export function noticeFrom(record: unknown, n = 1): UploadNotice | { ignored: string } {
  if (isObject(record) && record.eventSource === "aws:sqs") {
    throw new MalformedEventError(
      `record ${n} is an SQS message, not an S3 event record; the trigger takes S3 notifications directly (the local runtime unwraps its queue's messages)`,
    );
  }
  const parsed = S3EventRecord.safeParse(record);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "the record"}: ${issue.message}`);
    throw new MalformedEventError(`record ${n} is not an S3 event record (${problems.slice(0, 3).join("; ")})`);
  }
  const { s3, eventTime, eventName } = parsed.data;
  if (eventName !== undefined && !UPLOAD_EVENT.test(eventName)) {
    return {
      ignored: `record ${n} is an ${JSON.stringify(eventName.slice(0, 60))} event, not an upload: nothing to build`,
    };
  }
  return {
    eventTime: eventTime !== undefined && EVENT_TIME.test(eventTime) ? eventTime : undefined,
    bucket: s3.bucket.name,
    encodedKey: s3.object.key,
    versionId: s3.object.versionId,
    etag: s3.object.eTag,
    size: s3.object.size,
  };
}

/**
 * The trigger's Lambda handler: each S3 record becomes a build. Records are
 * handled one by one; if any failed for a reason worth retrying (cluster
 * unreachable, throttling) or could not be read, the invocation fails after
 * the others are done, so Lambda retries it and, after its retries, parks it
 * in the dead-letter queue. Every step is idempotent, so a retry repeats
 * nothing. S3's test event and records of other event types build nothing.
 */
export function createTriggerHandler(deps: SubmitDeps, logger: Logger) {
  return async (event: S3Event): Promise<TriggerResult> => {
    let records: unknown[] | "test";
    try {
      records = recordsOf(event);
    } catch (error: unknown) {
      logger.error("malformed event", { error: (error as Error).message });
      throw error;
    }
    if (records === "test") {
      logger.info("S3 test event: nothing to build");
      return { results: [] };
    }
    const failures: unknown[] = [];
    const results: SubmitOutcome[] = [];
    const ignored: NonNullable<TriggerResult["ignored"]> = [];
    for (const [index, record] of records.entries()) {
      let notice: ReturnType<typeof noticeFrom>;
      try {
        notice = noticeFrom(record, index + 1);
      } catch (error: unknown) {
        logger.error("malformed S3 event record", { error: errorMessage(error) });
        failures.push(error);
        continue;
      }
      if ("ignored" in notice) {
        logger.warn("not an upload", { reason: notice.ignored });
        ignored.push({ record: index + 1, reason: notice.ignored });
        continue;
      }
      logger.appendKeys({ bucket: notice.bucket, key: notice.encodedKey });
      try {
        const result = await submitUpload(notice, deps);
        results.push(result);
        logger.info("upload handled", { buildId: result.id, ...result });
      } catch (error: unknown) {
        logger.error("upload failed; the invocation will be retried", error as Error);
        failures.push(error);
      } finally {
        logger.removeKeys(["bucket", "key"]);
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) {
      const messages = failures.map((f) => (f instanceof Error ? f.message : String(f))).join("; ");
      throw new AggregateError(failures, `${failures.length} records failed: ${messages.slice(0, 1000)}`);
    }
    return ignored.length ? { results, ignored } : { results };
  };
}
