import type { BuildCost, BuildRequests } from "./cost.js";
import type { SourceObject } from "./identity.js";
import type { Provenance } from "./provenance.js";
import type { BuildSpec } from "./spec.js";

export const BUILD_STATUSES = ["QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "REJECTED", "CANCELLED", "SKIPPED"] as const;
export type BuildStatus = (typeof BUILD_STATUSES)[number];
export const TERMINAL_STATUSES: readonly BuildStatus[] = ["SUCCEEDED", "FAILED", "REJECTED", "CANCELLED", "SKIPPED"];
export type BuildTrigger = "upload" | "nightly" | "event" | "manual";

/**
 * Where a status sits in the only direction a build moves. Writes are
 * conditional on the stored rank being lower, so a late or repeated write can
 * never move a finished build back.
 */
export const STATUS_RANK: Record<BuildStatus, number> = {
  QUEUED: 0,
  RUNNING: 1,
  SUCCEEDED: 2,
  FAILED: 2,
  REJECTED: 2,
  CANCELLED: 2,
  /** A scheduled or event rebuild not run because its inputs had not changed (src/rebuild/unchanged.ts). */
  SKIPPED: 2,
};

export interface BuildRecord {
  id: string;
  status: BuildStatus;
  /** STATUS_RANK of status, stored so conditions can compare it. */
  statusRank: number;
  repository: string;
  tag: string;
  destinations: string[];
  source: SourceObject & { size?: number };
  trigger: BuildTrigger;
  namespace: string;
  jobName?: string;
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  /** What went in (context, Dockerfile, base images by digest) and, once built, what came out. */
  provenance?: Provenance;
  /** The Dockerfile as built: the context's own with its base images pinned by digest. */
  pinnedDockerfile?: string;
  /** The kaniko container's requests, as the Job was created with them. */
  requests?: BuildRequests;
  /** Requests × running time, once it ran (src/build/cost.ts). */
  cost?: BuildCost;
  /** SKIPPED: the earlier successful build whose inputs (context version, base digests) this one shared. */
  unchangedSince?: string;
  submittedAt: string;
  /** When S3 accepted the upload (event time), for uploads. */
  uploadedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  durationSeconds?: number;
  attempts: number;
  reason?: string;
  digest?: string;
  logLocation?: string;
  /** Why there is no log location, when there is none. */
  logNote?: string;
  /** While QUEUED behind the concurrency cap: 1 is next to run. */
  queuePosition?: number;
  /** When the terminal outcome was published to EventBridge. */
  eventPublishedAt?: string;
  /** When a reconciler claimed the right to publish it (one publisher among racing runs). */
  eventClaimedAt?: string;
  /** Epoch seconds; DynamoDB's TTL deletes the record after the retention period. */
  expiresAt: number;
}

export interface RecordContext {
  id: string;
  source: SourceObject & { size?: number };
  trigger: BuildTrigger;
  namespace: string;
  now: Date;
  retentionDays: number;
  uploadedAt?: string;
}

function base(ctx: RecordContext) {
  return {
    id: ctx.id,
    source: ctx.source,
    trigger: ctx.trigger,
    namespace: ctx.namespace,
    submittedAt: ctx.now.toISOString(),
    uploadedAt: ctx.uploadedAt,
    attempts: 0,
    expiresAt: Math.floor(ctx.now.getTime() / 1000) + ctx.retentionDays * 86_400,
  };
}

export function queuedRecord(
  ctx: RecordContext,
  spec: BuildSpec,
  jobName: string,
  provenance?: Provenance,
  requests?: BuildRequests,
): BuildRecord {
  return {
    ...base(ctx),
    status: "QUEUED",
    statusRank: STATUS_RANK.QUEUED,
    repository: spec.repository,
    tag: spec.tag,
    destinations: spec.destinations,
    jobName,
    dockerfile: spec.dockerfile,
    buildArgs: spec.buildArgs,
    target: spec.target,
    provenance,
    pinnedDockerfile: spec.pinnedDockerfile,
    requests,
  };
}

/** A rejected upload still gets a record, so nothing is dropped without a trace. */
export function rejectedRecord(
  ctx: RecordContext,
  reason: string,
  names: { repository?: string; tag?: string },
): BuildRecord {
  return {
    ...base(ctx),
    status: "REJECTED",
    statusRank: STATUS_RANK.REJECTED,
    // The repository index needs a value; keys outside the convention are grouped under "-".
    repository: names.repository ?? "-",
    tag: names.tag ?? "-",
    destinations: [],
    reason,
    finishedAt: ctx.now.toISOString(),
    durationSeconds: 0,
  };
}

/**
 * A rebuild not run because its inputs are those of an earlier successful
 * build: recorded (and published) like any outcome, with that build's
 * image and digest, which still stand.
 */
export function skippedRecord(
  ctx: RecordContext,
  since: BuildRecord,
  stages: Provenance["stages"],
  reason: string,
): BuildRecord {
  return {
    ...base(ctx),
    status: "SKIPPED",
    statusRank: STATUS_RANK.SKIPPED,
    repository: since.repository,
    tag: since.tag,
    destinations: [],
    dockerfile: since.dockerfile,
    buildArgs: since.buildArgs,
    target: since.target,
    digest: since.digest,
    provenance: since.provenance ? { ...since.provenance, stages } : undefined,
    unchangedSince: since.id,
    reason,
    finishedAt: ctx.now.toISOString(),
    durationSeconds: 0,
  };
}

/** The spec a QUEUED record was accepted with, so a retry renders the same Job without re-reading the context. */
export function specOfRecord(record: BuildRecord): BuildSpec {
  return {
    repository: record.repository,
    tag: record.tag,
    tags: record.destinations.map((d) => d.slice(d.lastIndexOf(":") + 1)),
    destinations: record.destinations,
    dockerfile: record.dockerfile ?? "Dockerfile",
    buildArgs: record.buildArgs ?? {},
    target: record.target,
    pinnedDockerfile: record.pinnedDockerfile,
  };
}

export const isTerminal = (status: BuildStatus) => TERMINAL_STATUSES.includes(status);
