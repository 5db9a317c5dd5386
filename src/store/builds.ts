import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { BuildRecord, BuildStatus } from "../build/record.js";
import { DynamoBuildLedger } from "./ledger.js";
import type {
  BuildLedger,
  BuildQueries,
  CreateResult,
  QueuedBuild,
  RecordChanges,
  RecordPage,
  RecordQuery,
} from "./ports.js";
import { DynamoBuildQueries } from "./queries.js";

export { InvalidCursorError } from "./cursor.js";
export type { BuildLedger, BuildQueries, CreateResult, QueuedBuild, RecordChanges, RecordPage, RecordQuery };

/**
 * Both ports on one table, for the callers that need both (the API, the
 * CLI, the local runtime). Use cases take the port they use.
 */
export class BuildStore implements BuildLedger, BuildQueries {
  private readonly ledger: DynamoBuildLedger;
  private readonly queries: DynamoBuildQueries;

  constructor(doc: DynamoDBDocumentClient, table: string) {
    this.ledger = new DynamoBuildLedger(doc, table);
    this.queries = new DynamoBuildQueries(doc, table);
  }

  create(record: BuildRecord): Promise<CreateResult> {
    return this.ledger.create(record);
  }
  get(id: string): Promise<BuildRecord | undefined> {
    return this.ledger.get(id);
  }
  getMany(ids: string[]): Promise<Map<string, BuildRecord>> {
    return this.ledger.getMany(ids);
  }
  advance(id: string, status: BuildStatus, changes: RecordChanges): Promise<boolean> {
    return this.ledger.advance(id, status, changes);
  }
  claimEvent(id: string, now: Date, staleAfterMs?: number): Promise<boolean> {
    return this.ledger.claimEvent(id, now, staleAfterMs);
  }
  markEventPublished(id: string, at: string): Promise<void> {
    return this.ledger.markEventPublished(id, at);
  }
  queuedBefore(before: string, cursor?: string): Promise<{ builds: QueuedBuild[]; cursor?: string }> {
    return this.ledger.queuedBefore(before, cursor);
  }
  query(query: RecordQuery): Promise<RecordPage> {
    return this.queries.query(query);
  }
  count(status: BuildStatus, since?: string): Promise<number> {
    return this.queries.count(status, since);
  }
}
