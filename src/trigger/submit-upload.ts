import type { ContextObjects } from "../aws/context-objects.js";
import { buildIdFor, jobNameFor, type SourceObject } from "../build/identity.js";
import { decodeEventKey, parseContextKey } from "../build/key.js";
import {
  type BuildRecord,
  type BuildTrigger,
  queuedRecord,
  type RecordContext,
  rejectedRecord,
  specOfRecord,
} from "../build/record.js";
import { type BuildSpec, buildSpecFrom } from "../build/spec.js";
import { type ContextLimits, inspectContext } from "../context/inspect.js";
import type { BuildCluster } from "../kube/cluster.js";
import { type JobSettings, renderJob } from "../kube/job.js";
import type { BuildStore } from "../store/builds.js";

export interface UploadNotice {
  bucket: string;
  /** The key as the S3 event carries it: URL-encoded, `+` for space. */
  encodedKey: string;
  versionId?: string;
  etag?: string;
  size?: number;
}

export interface SubmitSettings {
  registry: string;
  defaultDockerfile: string;
  contextLimits: ContextLimits;
  retentionDays: number;
  job: JobSettings;
}

export interface SubmitDeps {
  objects: ContextObjects;
  store: BuildStore;
  cluster: BuildCluster;
  settings: SubmitSettings;
  now: () => Date;
}

export type SubmitOutcome =
  | { outcome: "submitted"; id: string; job: "created" | "exists" }
  | { outcome: "rejected"; id: string; reason: string }
  | { outcome: "duplicate"; id: string; status: BuildRecord["status"] };

/**
 * One uploaded context → one build. Safe under S3's at-least-once delivery:
 *
 *   event ─▶ id = hash(bucket, key, version|etag)
 *        ─▶ record exists and is past QUEUED?  done (duplicate)
 *        ─▶ validate key, metadata and context (streamed)
 *        ─▶ conditional put of the record (QUEUED, or REJECTED with the reason)
 *        ─▶ create the Job (409 = already there)
 *
 * A crash between the put and the Job leaves a QUEUED record; the retried
 * event finds it and creates the Job, so there is still exactly one.
 * Rejections are recorded, never thrown; infrastructure failures throw, so
 * the invocation fails and Lambda retries it.
 */
export async function submitUpload(
  notice: UploadNotice,
  deps: SubmitDeps,
  trigger: BuildTrigger = "upload",
): Promise<SubmitOutcome> {
  const decoded = decodeEventKey(notice.encodedKey);
  const source: SourceObject & { size?: number } = {
    bucket: notice.bucket,
    key: decoded.ok ? decoded.value : notice.encodedKey,
    versionId: notice.versionId,
    etag: notice.etag?.replaceAll('"', ""),
    size: notice.size,
  };
  const id = buildIdFor(source);
  const ctx: RecordContext = {
    id,
    source,
    trigger,
    namespace: deps.settings.job.namespace,
    now: deps.now(),
    retentionDays: deps.settings.retentionDays,
  };

  const known = await deps.store.get(id);
  if (known && known.status !== "QUEUED") return { outcome: "duplicate", id, status: known.status };
  if (known?.jobName) return createJob(id, specOfRecord(known), known.source, deps);

  const reject = async (reason: string, names: { repository?: string; tag?: string } = {}): Promise<SubmitOutcome> => {
    const put = await deps.store.create(rejectedRecord(ctx, reason, names));
    if (!put.created && put.existing.status !== "REJECTED")
      return { outcome: "duplicate", id, status: put.existing.status };
    return { outcome: "rejected", id, reason };
  };

  if (!decoded.ok) return reject(decoded.reason);
  const key = parseContextKey(decoded.value, deps.settings.registry);
  if (!key.ok) return reject(key.reason);
  const names = { repository: key.value.repository, tag: key.value.tag };

  const head = await deps.objects.head(source);
  if (!head) {
    return reject(
      "the uploaded object no longer exists as uploaded (deleted or replaced before it could be built)",
      names,
    );
  }
  // Pin the exact version for the Job even when the event did not carry one.
  source.versionId ??= head.versionId;
  source.etag ??= head.etag;
  source.size ??= head.size;
  const limits = deps.settings.contextLimits;
  if (head.size > limits.maxBytes) {
    return reject(`the context is ${head.size} bytes, more than the limit of ${limits.maxBytes}`, names);
  }
  const spec = buildSpecFrom(key.value, head.metadata, {
    registry: deps.settings.registry,
    dockerfile: deps.settings.defaultDockerfile,
  });
  if (!spec.ok) return reject(spec.reason, names);

  const inspection = await inspectContext(await deps.objects.open(source), {
    compression: key.value.compression,
    dockerfile: spec.value.dockerfile,
    limits,
  });
  if (!inspection.ok) return reject(inspection.reason, names);

  const put = await deps.store.create(queuedRecord(ctx, spec.value, jobNameFor(id)));
  if (!put.created && put.existing.status !== "QUEUED") {
    return { outcome: "duplicate", id, status: put.existing.status };
  }
  return createJob(id, spec.value, source, deps);
}

async function createJob(id: string, spec: BuildSpec, source: SourceObject, deps: SubmitDeps): Promise<SubmitOutcome> {
  const job = renderJob({ buildId: id, jobName: jobNameFor(id), spec, source }, deps.settings.job);
  return { outcome: "submitted", id, job: await deps.cluster.createJob(job) };
}
