import type { BuildEvents } from "../aws/build-events.js";
import type { ContextObjects } from "../aws/context-objects.js";
import { buildIdFor, jobNameFor, type SourceObject } from "../build/identity.js";
import { decodeEventKey, parseContextKey } from "../build/key.js";
import {
  type BuildRecord,
  type BuildTrigger,
  isTerminal,
  queuedRecord,
  type RecordContext,
  rejectedRecord,
  specOfRecord,
} from "../build/record.js";
import { type BuildSpec, buildSpecFrom } from "../build/spec.js";
import { failUnstartedBuild } from "../builds/fail-unstarted.js";
import { publishOutcome } from "../builds/publish-outcome.js";
import { type ContextLimits, inspectContext } from "../context/inspect.js";
import { type BuildCluster, JobRefusedError } from "../kube/cluster.js";
import { type JobSettings, renderJob, startsSuspended } from "../kube/job.js";
import type { BuildLedger } from "../store/ports.js";

export interface UploadNotice {
  /** When S3 accepted the upload (the event's eventTime): the queue's order. */
  eventTime?: string;
  bucket: string;
  /** The key as the S3 event carries it: URL-encoded, `+` for space. */
  encodedKey: string;
  versionId?: string;
  etag?: string;
  size?: number;
}

/** How a build is submitted: an upload, or a rebuild of an existing context. */
export interface SubmitOptions {
  trigger?: BuildTrigger;
  /** Makes the id distinct per rebuild (e.g. "nightly:20261124"), and stable when re-delivered. */
  variant?: string;
  /** More tags to push, given the context's own tag (e.g. the dated nightly tag). */
  extraTags?: (tag: string) => string[];
}

export interface SubmitSettings {
  /**
   * The contexts bucket (CONTEXTS_BUCKET): an event for any other bucket is
   * rejected, not built, and its record says so. Unset, any bucket is read.
   */
  contextsBucket?: string;
  /** 0: no cap. Otherwise Jobs are created suspended and the reconciler releases them oldest first. */
  maxConcurrentBuilds: number;
  registry: string;
  defaultDockerfile: string;
  contextLimits: ContextLimits;
  /** The largest context accepted as uploaded (compressed): CONTEXT_MAX_UPLOAD_BYTES. */
  maxUploadBytes: number;
  retentionDays: number;
  job: JobSettings;
}

export interface SubmitDeps {
  objects: ContextObjects;
  store: BuildLedger;
  /** Where a rejected or refused build's outcome is published, like every other outcome. */
  events: BuildEvents;
  cluster: BuildCluster;
  settings: SubmitSettings;
  now: () => Date;
}

export type SubmitOutcome =
  | { outcome: "submitted"; id: string; job: "created" | "exists" }
  | { outcome: "rejected"; id: string; reason: string }
  /** Accepted, but the cluster refused its Job for good (forbidden, invalid): FAILED with the reason. */
  | { outcome: "failed"; id: string; reason: string }
  | { outcome: "duplicate"; id: string; status: BuildRecord["status"] };

/**
 * One uploaded context → one build. Safe under S3's at-least-once delivery:
 *
 *   event ─▶ id = hash(bucket, key, version|etag)
 *        ─▶ record exists and is past QUEUED?  done (duplicate)
 *        ─▶ validate key, metadata and context (streamed)
 *        ─▶ conditional put of the record (QUEUED, or REJECTED with the reason)
 *        ─▶ create the Job (409 = already there; refused for good = FAILED)
 *
 * A crash between the put and the Job leaves a QUEUED record; the retried
 * event finds it and creates the Job, so there is still exactly one.
 * Rejections and permanent refusals (403, 422) are recorded, never thrown;
 * failures worth retrying (cluster unreachable, 5xx, throttling) throw, so
 * the invocation fails and Lambda retries it.
 */
export async function submitUpload(
  notice: UploadNotice,
  deps: SubmitDeps,
  options: SubmitOptions = {},
): Promise<SubmitOutcome> {
  const trigger = options.trigger ?? "upload";
  const decoded = decodeEventKey(notice.encodedKey);
  const source: SourceObject & { size?: number } = {
    bucket: notice.bucket,
    key: decoded.ok ? decoded.value : notice.encodedKey,
    versionId: notice.versionId,
    etag: notice.etag?.replaceAll('"', ""),
    size: notice.size,
  };
  const id = buildIdFor(source, options.variant);
  const queuedAt = notice.eventTime ?? deps.now().toISOString();
  const ctx: RecordContext = {
    id,
    source,
    trigger,
    namespace: deps.settings.job.namespace,
    now: deps.now(),
    retentionDays: deps.settings.retentionDays,
    uploadedAt: notice.eventTime,
  };

  // No read first: a redelivered event re-validates (one GET of the context)
  // and then finds the record through the conditional put. Duplicates are rare;
  // every upload saves a table read.
  const reject = async (reason: string, names: { repository?: string; tag?: string } = {}): Promise<SubmitOutcome> => {
    const record = rejectedRecord(ctx, reason, names);
    const put = await deps.store.create(record);
    if (!put.created) return existing(put.existing);
    // If publishing fails the invocation fails; its retry finds the record and publishes then.
    await publishOutcome(record, deps);
    return { outcome: "rejected", id, reason };
  };
  const existing = async (record: BuildRecord): Promise<SubmitOutcome> => {
    if (isTerminal(record.status)) {
      // An earlier attempt recorded the outcome but could not publish it.
      if (!record.eventPublishedAt) await publishOutcome(record, deps);
      return { outcome: "duplicate", id, status: record.status };
    }
    if (record.status !== "QUEUED" || !record.jobName) return { outcome: "duplicate", id, status: record.status };
    // Recorded, maybe without its Job (a crash between the two steps): create it now, the same Job as before.
    return createJob(id, specOfRecord(record), record.source, deps, record.uploadedAt ?? record.submittedAt, true);
  };

  const { contextsBucket } = deps.settings;
  if (contextsBucket !== undefined && notice.bucket !== contextsBucket) {
    return reject(
      `the event is for bucket ${JSON.stringify(notice.bucket)}, but this deployment builds contexts from ${JSON.stringify(contextsBucket)}; check the bucket's notification`,
    );
  }
  if (!decoded.ok) return reject(decoded.reason);
  const key = parseContextKey(decoded.value, deps.settings.registry);
  if (!key.ok) return reject(key.reason);
  const names = { repository: key.value.repository, tag: key.value.tag };

  const object = await deps.objects.fetch(source);
  if (!object) {
    return reject(
      "the uploaded object no longer exists as uploaded (deleted or replaced before it could be built)",
      names,
    );
  }
  const { head, body } = object;
  // Pin the exact version for the Job even when the event did not carry one.
  source.versionId ??= head.versionId;
  source.etag ??= head.etag;
  source.size ??= head.size;
  const limits = deps.settings.contextLimits;
  if (head.size > limits.maxBytes) {
    body.destroy();
    return reject(`the context is ${head.size} bytes, more than the limit of ${limits.maxBytes}`, names);
  }
  if (head.size > deps.settings.maxUploadBytes) {
    body.destroy();
    return reject(
      `the context is ${head.size} bytes as uploaded, more than the limit of ${deps.settings.maxUploadBytes} for an upload (CONTEXT_MAX_UPLOAD_BYTES)`,
      names,
    );
  }
  const spec = buildSpecFrom(key.value, head.metadata, {
    registry: deps.settings.registry,
    dockerfile: deps.settings.defaultDockerfile,
  });
  if (!spec.ok) {
    body.destroy();
    return reject(spec.reason, names);
  }
  for (const tag of options.extraTags?.(spec.value.tag) ?? []) {
    if (spec.value.tags.includes(tag)) continue;
    spec.value.tags.push(tag);
    spec.value.destinations.push(`${deps.settings.registry}/${spec.value.repository}:${tag}`);
  }

  const inspection = await inspectContext(body, {
    compression: key.value.compression,
    dockerfile: spec.value.dockerfile,
    limits,
  });
  if (!inspection.ok) return reject(inspection.reason, names);

  const put = await deps.store.create(queuedRecord(ctx, spec.value, jobNameFor(id)));
  if (!put.created) return existing(put.existing);
  return createJob(id, spec.value, source, deps, queuedAt, false);
}

async function createJob(
  id: string,
  spec: BuildSpec,
  source: SourceObject,
  deps: SubmitDeps,
  queuedAt: string,
  /** The record already existed: if the Job does too, this event was a duplicate. */
  recorded: boolean,
): Promise<SubmitOutcome> {
  const suspend = startsSuspended(deps.settings.maxConcurrentBuilds, deps.settings.job);
  const job = renderJob({ buildId: id, jobName: jobNameFor(id), spec, source, suspend, queuedAt }, deps.settings.job);
  let created: Awaited<ReturnType<BuildCluster["createJob"]>>;
  try {
    created = await deps.cluster.createJob(job);
  } catch (error: unknown) {
    if (!(error instanceof JobRefusedError)) throw error;
    await failUnstartedBuild(deps, id, error);
    return { outcome: "failed", id, reason: error.message };
  }
  if (recorded && created === "exists") return { outcome: "duplicate", id, status: "QUEUED" };
  return { outcome: "submitted", id, job: created };
}
