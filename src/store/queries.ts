import { type DynamoDBDocumentClient, QueryCommand, type QueryCommandOutput } from "@aws-sdk/lib-dynamodb";
import { BUILD_STATUSES, type BuildRecord, type BuildStatus } from "../build/record.js";
import { encodeCursor, startKeyFrom, statusCursorsFrom } from "./cursor.js";
import type { BuildQueries, RecordPage, RecordQuery } from "./ports.js";
import { INDEXES } from "./table.js";

/** Build queries on DynamoDB's indexes. */
export class DynamoBuildQueries implements BuildQueries {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * How many builds have a status (submitted since `since`, if given): a
   * COUNT query on the status index, so no record crosses the wire.
   */
  async count(status: BuildStatus, since?: string): Promise<number> {
    let total = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const out: QueryCommandOutput = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          ...indexKey("status", status, { since }),
          Select: "COUNT",
          ExclusiveStartKey: start,
        }),
      );
      total += out.Count ?? 0;
      start = out.LastEvaluatedKey;
    } while (start);
    return total;
  }

  /**
   * Builds newest first, by repository or by status (each an index, no
   * scans), or across everything by walking the status index.
   */
  async query(query: RecordQuery): Promise<RecordPage> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 1000);
    if (!query.repository && !query.status) return this.queryAll(query, limit);
    const key = query.repository
      ? indexKey("repository", query.repository, query)
      : indexKey("status", query.status ?? "", query);
    let filter: string | undefined;
    if (query.repository && query.status) {
      key.ExpressionAttributeNames["#status"] = "status";
      key.ExpressionAttributeValues[":status"] = query.status;
      filter = "#status = :status";
    }
    const records: BuildRecord[] = [];
    let start: Record<string, unknown> | undefined = query.repository
      ? startKeyFrom(query.cursor, { index: "repository", value: query.repository, ...range(query) })
      : startKeyFrom(query.cursor, { index: "status", value: query.status ?? "", ...range(query) });
    do {
      const out: QueryCommandOutput = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          ...key,
          FilterExpression: filter,
          ScanIndexForward: false,
          Limit: limit - records.length,
          ExclusiveStartKey: start,
        }),
      );
      records.push(...((out.Items ?? []) as BuildRecord[]));
      start = out.LastEvaluatedKey;
    } while (start && records.length < limit);
    return { records, cursor: encodeCursor(start) };
  }

  /** Every status, merged newest first: one index query per status, still no scan. */
  private async queryAll(query: RecordQuery, limit: number): Promise<RecordPage> {
    const cursors = statusCursorsFrom(query.cursor);
    const statuses = BUILD_STATUSES.filter((s) => cursors[s] !== null);
    const pages = await Promise.all(
      statuses.map(async (status) => ({
        status,
        page: await this.query({ ...query, status, limit, cursor: cursors[status] ?? undefined }),
      })),
    );
    const merged = pages
      .flatMap(({ status, page }) => page.records.map((record) => ({ status, record })))
      .sort(
        (a, b) => b.record.submittedAt.localeCompare(a.record.submittedAt) || b.record.id.localeCompare(a.record.id),
      )
      .slice(0, limit);
    // Resume each status after the last record of it that this page showed.
    const next: Record<string, string | null> = {};
    let more = false;
    for (const { status, page } of pages) {
      const shown = merged.filter((m) => m.status === status);
      const last = shown.at(-1)?.record;
      if (shown.length < page.records.length) {
        next[status] = last ? (encodeCursor(keyOf(last, "status")) ?? "") : (cursors[status] ?? "");
        more = true;
      } else if (page.cursor) {
        next[status] = page.cursor;
        more = true;
      } else {
        next[status] = null;
      }
    }
    return { records: merged.map((m) => m.record), cursor: more ? encodeCursor(next) : undefined };
  }
}

/** The time range of a query, as its cursor must respect it. */
const range = (query: RecordQuery) => ({ since: query.since, until: query.until });

/** The key condition on one index: its partition value, and `submittedAt` within the range. */
function indexKey(partition: "repository" | "status", value: string, within: { since?: string; until?: string }) {
  const names: Record<string, string> = { "#pk": partition };
  const values: Record<string, unknown> = { ":pk": value };
  let condition = "#pk = :pk";
  if (within.since || within.until) names["#at"] = "submittedAt";
  if (within.since) values[":since"] = within.since;
  if (within.until) values[":until"] = within.until;
  if (within.since && within.until) condition += " AND #at BETWEEN :since AND :until";
  else if (within.since) condition += " AND #at >= :since";
  else if (within.until) condition += " AND #at <= :until";
  return {
    IndexName: partition === "repository" ? INDEXES.byRepository : INDEXES.byStatus,
    KeyConditionExpression: condition,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

/** The index key of a record, as DynamoDB's LastEvaluatedKey would give it. */
function keyOf(record: BuildRecord, index: "status" | "repository"): Record<string, unknown> {
  return { id: record.id, submittedAt: record.submittedAt, [index]: record[index] };
}
