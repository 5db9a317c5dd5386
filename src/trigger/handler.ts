import type { S3Event } from "aws-lambda";
import * as z from "zod/mini";
import type { Logger } from "../log.js";
import { type SubmitDeps, type SubmitOutcome, submitUpload, type UploadNotice } from "./submit-upload.js";

/** What an invocation did; Lambda ignores it for async invocations, `dropbuild redrive` reads it. */
export interface TriggerResult {
  results: SubmitOutcome[];
}

const S3EventRecord = z.object({
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

export function noticeFrom(record: unknown): UploadNotice {
  const { s3, eventTime } = S3EventRecord.parse(record);
  return {
    eventTime,
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
 * unreachable, throttling), the invocation fails after the others are done,
 * so Lambda retries it and, after its retries, parks it in the dead-letter
 * queue. Every step is idempotent, so a retry repeats nothing.
 */
export function createTriggerHandler(deps: SubmitDeps, logger: Logger) {
  return async (event: S3Event): Promise<TriggerResult> => {
    const failures: unknown[] = [];
    const results: SubmitOutcome[] = [];
    for (const record of event.Records ?? []) {
      let notice: UploadNotice;
      try {
        notice = noticeFrom(record);
      } catch (error: unknown) {
        logger.error("malformed S3 event record", { error: error instanceof Error ? error.message : String(error) });
        failures.push(error);
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
    if (failures.length > 1) throw new AggregateError(failures, `${failures.length} uploads failed`);
    return { results };
  };
}
