import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { type BuildRecord, type BuildStatus, STATUS_RANK } from "../build/record.js";
import { STATUS_WRITE_CONDITION } from "../build/transitions.js";
import { encodeCursor, startKeyFrom } from "./cursor.js";
import type { BuildLedger, CreateResult, QueuedBuild, RecordChanges } from "./ports.js";
import { INDEXES } from "./table.js";

/** The build ledger in DynamoDB. Takes a document client, so tests point it at the emulator. */
export class DynamoBuildLedger implements BuildLedger {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Create the record unless one with this id exists. The id is derived from
   * the upload, so a redelivered S3 event lands here and finds the first
   * record, which it gets back instead of overwriting. The failed condition
   * returns that record itself (ALL_OLD), as it stood when the write was
   * refused, so no second read is needed.
   */
  async create(record: BuildRecord): Promise<CreateResult> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: record,
          ConditionExpression: "attribute_not_exists(id)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      return { created: true };
    } catch (error: unknown) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // lib-dynamodb unmarshalls responses, not errors: error.Item is raw attribute values ({ "S": … }).
      const existing = error.Item ? (unmarshall(error.Item) as BuildRecord) : await this.get(record.id);
      if (!existing) throw error;
      return { created: false, existing };
    }
  }

  /**
   * Move a build forward. The write is conditional on the move being one of
   * ALLOWED_MOVES (src/build/transitions.ts), so two reconcilers, or a late
   * write, can never move a finished build back:
   *
   *   reconciler A: read RUNNING ─▶ write SUCCEEDED (rank 1 < 2 ✓)
   *   reconciler B: read RUNNING ─────────────▶ write RUNNING (rank 2 < 1 ✗, refused)
   *
   * Returns false when the condition refused the write.
   */
  async advance(id: string, status: BuildStatus, changes: RecordChanges): Promise<boolean> {
    const names: Record<string, string> = { "#status": "status", "#rank": "statusRank" };
    const values: Record<string, unknown> = {
      ":status": status,
      ":rank": STATUS_RANK[status],
      ":running": STATUS_RANK.RUNNING,
      ":queued": STATUS_RANK.QUEUED,
    };
    const sets = ["#status = :status", "#rank = :rank"];
    for (const [field, value] of Object.entries(changes)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    values[":attemptsNow"] = changes.attempts ?? 0;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id },
          UpdateExpression: `SET ${sets.join(", ")}`,
          ConditionExpression: STATUS_WRITE_CONDITION,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error: unknown) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Claim the right to publish a build's terminal event. Only one of several
   * racing reconcilers wins; a claim older than `staleAfterMs` (its holder
   * crashed before publishing) can be taken over, so the event still goes out.
   */
  async claimEvent(id: string, now: Date, staleAfterMs = 60_000): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { id },
          UpdateExpression: "SET eventClaimedAt = :now",
          ConditionExpression:
            "attribute_exists(id) AND attribute_not_exists(eventPublishedAt) AND (attribute_not_exists(eventClaimedAt) OR eventClaimedAt < :stale)",
          ExpressionAttributeValues: {
            ":now": now.toISOString(),
            ":stale": new Date(now.getTime() - staleAfterMs).toISOString(),
          },
        }),
      );
      return true;
    } catch (error: unknown) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Remember that the terminal event went out, so later runs do not send it again. */
  async markEventPublished(id: string, at: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { id },
        UpdateExpression: "SET eventPublishedAt = :at",
        ConditionExpression: "attribute_exists(id)",
        ExpressionAttributeValues: { ":at": at },
      }),
    );
  }

  async getMany(ids: string[]): Promise<Map<string, BuildRecord>> {
    const found = new Map<string, BuildRecord>();
    for (let i = 0; i < ids.length; i += 100) {
      let keys: Record<string, unknown>[] | undefined = ids.slice(i, i + 100).map((id) => ({ id }));
      while (keys && keys.length > 0) {
        const out: BatchGetCommandOutput = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of out.Responses?.[this.table] ?? []) found.set(String(item.id), item as BuildRecord);
        keys = out.UnprocessedKeys?.[this.table]?.Keys;
      }
    }
    return found;
  }

  /**
   * QUEUED builds submitted before `before`, oldest first, as ids and Job
   * names only: the reconciler's sweep for lost Jobs stays a small read
   * however long the queue is.
   */
  async queuedBefore(before: string, cursor?: string): Promise<{ builds: QueuedBuild[]; cursor?: string }> {
    const out: QueryCommandOutput = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: INDEXES.byStatus,
        KeyConditionExpression: "#status = :queued AND #at < :before",
        ProjectionExpression: "#id, #jobName",
        ExpressionAttributeNames: { "#status": "status", "#at": "submittedAt", "#id": "id", "#jobName": "jobName" },
        ExpressionAttributeValues: { ":queued": "QUEUED", ":before": before },
        Limit: 500,
        ExclusiveStartKey: startKeyFrom(cursor, { index: "status", value: "QUEUED" }),
      }),
    );
    const builds = (out.Items ?? []).map((item) => ({
      id: String(item.id),
      jobName: typeof item.jobName === "string" ? item.jobName : undefined,
    }));
    return { builds, cursor: encodeCursor(out.LastEvaluatedKey) };
  }

  async get(id: string): Promise<BuildRecord | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: { id }, ConsistentRead: true }));
    return Item as BuildRecord | undefined;
  }
}
