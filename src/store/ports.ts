import type { BuildRecord, BuildStatus } from "../build/record.js";

/** Fields a status change may set, besides the status itself. */
export type RecordChanges = Partial<
  Pick<
    BuildRecord,
    | "startedAt"
    | "finishedAt"
    | "durationSeconds"
    | "attempts"
    | "reason"
    | "digest"
    | "logLocation"
    | "logNote"
    | "queuePosition"
    | "provenance"
    | "cost"
  >
>;

export interface RecordQuery {
  repository?: string;
  status?: BuildStatus;
  /** ISO time: only builds submitted at or after it. */
  since?: string;
  /** ISO time: only builds submitted at or before it. */
  until?: string;
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface QueuedBuild {
  id: string;
  jobName?: string;
}

export interface RecordPage {
  records: BuildRecord[];
  cursor?: string;
}

export type CreateResult = { created: true } | { created: false; existing: BuildRecord };

/**
 * The build ledger: each build's record and how it moves. Every write is
 * conditional, so racing triggers and reconcilers never move a build back.
 */
export interface BuildLedger {
  /** Create the record unless one with its id exists; then that one comes back. */
  create(record: BuildRecord): Promise<CreateResult>;
  get(id: string): Promise<BuildRecord | undefined>;
  getMany(ids: string[]): Promise<Map<string, BuildRecord>>;
  /** Move forward only (see DynamoBuildLedger.advance); false when the condition refused it. */
  advance(id: string, status: BuildStatus, changes: RecordChanges): Promise<boolean>;
  /** Claim the right to publish a build's terminal event (a stale claim can be taken over). */
  claimEvent(id: string, now: Date, staleAfterMs?: number): Promise<boolean>;
  markEventPublished(id: string, at: string): Promise<void>;
  /** QUEUED builds submitted before `before`, ids and Job names only (the lost-Job sweep). */
  queuedBefore(before: string, cursor?: string): Promise<{ builds: QueuedBuild[]; cursor?: string }>;
}

/** Reading builds for people and scripts: pages newest first, counts, by index (no scans). */
export interface BuildQueries {
  query(query: RecordQuery): Promise<RecordPage>;
  count(status: BuildStatus, since?: string): Promise<number>;
}
