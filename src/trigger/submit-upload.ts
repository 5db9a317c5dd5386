import type { BuildEvents } from "../aws/build-events.js";
import type { ContextObjects } from "../aws/context-objects.js";
import { buildIdFor, jobNameFor, type SourceObject } from "../build/identity.js";
import { type ContextKey, decodeEventKey, parseContextKey, repositoryInKey } from "../build/key.js";
import { type Provenance, pinBaseImages } from "../build/provenance.js";
import {
  type BuildRecord,
  type BuildTrigger,
  isTerminal,
  queuedRecord,
  type RecordContext,
  rejectedRecord,
  specOfRecord,
} from "../build/record.js";
import type { Checked } from "../build/result.js";
import { type BuildSpec, buildSpecFrom } from "../build/spec.js";
import { createBuildJob } from "../builds/create-build-job.js";
import { publishOutcome } from "../builds/publish-outcome.js";
import { type ContextLimits, inspectContext } from "../context/inspect.js";
import type { BuildCluster } from "../kube/cluster.js";
import type { JobSettings } from "../kube/job.js";
import type { ManifestDigests } from "../registry/client.js";
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
  /**
   * Where base images are resolved to digests before the build (through
   * the registry mirror, as kaniko pulls them). Absent only for simulated
   * builds, which pull nothing: their provenance lists the stages without digests.
   */
  registry?: ManifestDigests;
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
  const decoded = decodeEventKey(notice.encodedKey);
  const source: UploadSource = {
    bucket: notice.bucket,
    key: decoded.ok ? decoded.value : notice.encodedKey,
    versionId: notice.versionId,
    etag: notice.etag?.replaceAll('"', ""),
    size: notice.size,
  };
  const id = buildIdFor(source, options.variant);
  const ctx: RecordContext = {
    id,
    source,
    trigger: options.trigger ?? "upload",
    namespace: deps.settings.job.namespace,
    now: deps.now(),
    retentionDays: deps.settings.retentionDays,
    uploadedAt: notice.eventTime,
  };
  // No read first: a redelivered event re-validates (one GET of the context)
  // and then finds the record through the conditional put. Duplicates are rare;
  // every upload saves a table read.
  const checked = await checkUpload(notice.bucket, decoded, source, deps, options);
  if (!checked.ok) return rejectUpload(ctx, checked, deps);
  const { cpu = "", memory = "" } = deps.settings.job.resources.requests;
  const record = queuedRecord(ctx, checked.spec, jobNameFor(id), checked.provenance, { cpu, memory });
  const put = await deps.store.create(record);
  if (!put.created) return recordedBefore(put.existing, deps);
  return createJob(id, checked.spec, source, deps, notice.eventTime ?? deps.now().toISOString(), false);
}

type UploadSource = SourceObject & { size?: number };
type Names = { repository?: string; tag?: string };
/** An upload that passed every check, or the first check it failed and the names it had by then. */
type CheckedUpload =
  | { ok: true; spec: BuildSpec; provenance: Provenance }
  | { ok: false; reason: string; names: Names };

/** Record the rejection (once, whatever the redeliveries) and publish it. */
async function rejectUpload(
  ctx: RecordContext,
  rejection: { reason: string; names: Names },
  deps: SubmitDeps,
): Promise<SubmitOutcome> {
  const record = rejectedRecord(ctx, rejection.reason, rejection.names);
  const put = await deps.store.create(record);
  if (!put.created) return recordedBefore(put.existing, deps);
  // If publishing fails the invocation fails; its retry finds the record and publishes then.
  await publishOutcome(record, deps);
  return { outcome: "rejected", id: ctx.id, reason: rejection.reason };
}

/** A redelivered event found its build's record: finish what an earlier attempt left undone. */
async function recordedBefore(record: BuildRecord, deps: SubmitDeps): Promise<SubmitOutcome> {
  const { id, status } = record;
  if (isTerminal(status)) {
    // An earlier attempt recorded the outcome but could not publish it.
    if (!record.eventPublishedAt) await publishOutcome(record, deps);
    return { outcome: "duplicate", id, status };
  }
  if (status !== "QUEUED" || !record.jobName) return { outcome: "duplicate", id, status };
  // Recorded, maybe without its Job (a crash between the two steps): create it now, the same Job as before.
  return createJob(id, specOfRecord(record), record.source, deps, record.uploadedAt ?? record.submittedAt, true);
}

/** The event's bucket and key, then the object itself: the first check that fails says why. */
async function checkUpload(
  bucket: string,
  decoded: Checked<string>,
  source: UploadSource,
  deps: SubmitDeps,
  options: SubmitOptions,
): Promise<CheckedUpload> {
  const refuse = (reason: string, names: Names = {}): CheckedUpload => ({ ok: false, reason, names });
  const { contextsBucket } = deps.settings;
  if (contextsBucket !== undefined && bucket !== contextsBucket) {
    return refuse(
      `the event is for bucket ${JSON.stringify(bucket)}, but this deployment builds contexts from ${JSON.stringify(contextsBucket)}; check the bucket's notification`,
    );
  }
  if (!decoded.ok) return refuse(decoded.reason);
  const key = parseContextKey(decoded.value, deps.settings.registry);
  if (!key.ok) return refuse(key.reason, { repository: repositoryInKey(decoded.value, deps.settings.registry) });
  return checkObject(key.value, source, deps, options);
}

/** The uploaded object: there, within the limits, with valid metadata, and a context that inspects clean. */
async function checkObject(
  key: ContextKey,
  source: UploadSource,
  deps: SubmitDeps,
  options: SubmitOptions,
): Promise<CheckedUpload> {
  const names = { repository: key.repository, tag: key.tag };
  const refuse = (reason: string): CheckedUpload => ({ ok: false, reason, names });
  const object = await deps.objects.fetch(source);
  if (!object)
    return refuse("the uploaded object no longer exists as uploaded (deleted or replaced before it could be built)");
  const { head, body } = object;
  // Pin the exact version for the Job even when the event did not carry one.
  source.versionId ??= head.versionId;
  source.etag ??= head.etag;
  source.size ??= head.size;
  const settings = deps.settings;
  const tooLarge = sizeRefusal(head.size, settings);
  if (tooLarge) {
    body.destroy();
    return refuse(tooLarge);
  }
  const spec = buildSpecFrom(key, head.metadata, {
    registry: settings.registry,
    dockerfile: settings.defaultDockerfile,
  });
  if (!spec.ok) {
    body.destroy();
    return refuse(spec.reason);
  }
  addExtraTags(spec.value, options.extraTags?.(spec.value.tag) ?? [], settings.registry);
  const inspection = await inspectContext(body, {
    compressedBytes: head.size,
    compression: key.compression,
    dockerfile: spec.value.dockerfile,
    limits: settings.contextLimits,
  });
  if (!inspection.ok) return refuse(inspection.reason);
  const { dockerfile, sha256 } = inspection.value;
  // A registry that cannot be asked throws: the invocation is retried, as for an unreachable cluster.
  const pinned = await pinBaseImages(dockerfile.text, spec.value, deps.registry, settings.job.registryMirror);
  if (!pinned.ok) return refuse(pinned.reason);
  const provenance: Provenance = {
    contextSha256: sha256,
    dockerfileSha256: dockerfile.sha256,
    stages: pinned.value.stages,
  };
  return { ok: true, spec: { ...spec.value, pinnedDockerfile: pinned.value.dockerfile }, provenance };
}

/** Why an object is too large to inspect at all, by its size as uploaded; undefined when it is not. */
function sizeRefusal(size: number, settings: SubmitSettings): string | undefined {
  const { maxBytes } = settings.contextLimits;
  if (size > maxBytes) return `the context is ${size} bytes, more than the limit of ${maxBytes}`;
  if (size > settings.maxUploadBytes) {
    return `the context is ${size} bytes as uploaded, more than the limit of ${settings.maxUploadBytes} for an upload (CONTEXT_MAX_UPLOAD_BYTES)`;
  }
  return undefined;
}

/** More tags to push (a rebuild's dated tag), each once. */
function addExtraTags(spec: BuildSpec, tags: string[], registry: string): void {
  for (const tag of tags) {
    if (spec.tags.includes(tag)) continue;
    spec.tags.push(tag);
    spec.destinations.push(`${registry}/${spec.repository}:${tag}`);
  }
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
  const created = await createBuildJob({ id, spec, source, queuedAt }, deps);
  if ("refused" in created) return { outcome: "failed", id, reason: created.refused };
  if (recorded && created.job === "exists") return { outcome: "duplicate", id, status: "QUEUED" };
  return { outcome: "submitted", id, job: created.job };
}
