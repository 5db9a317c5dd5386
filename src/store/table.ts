import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/**
 * The builds table. One item per build, keyed by build id.
 *
 * - `by-repository` (repository, submittedAt): a repository's builds over time,
 *   newest first with ScanIndexForward=false. Rejected keys outside the naming
 *   convention are filed under repository "-".
 * - `by-status` (status, submittedAt): e.g. every RUNNING build, or the FAILED
 *   ones since yesterday, without a scan. The index follows status changes.
 * - `expiresAt` is the TTL attribute (epoch seconds): DynamoDB deletes records
 *   after the configured retention.
 *
 * Writes are conditional: a build is created only if its id is new
 * (attribute_not_exists), and updated only while the stored statusRank is
 * lower than the new one, so status only ever moves forward.
 */
export const INDEXES = { byRepository: "by-repository", byStatus: "by-status" } as const;
export const TTL_ATTRIBUTE = "expiresAt";

export function buildsTableDefinition(tableName: string): CreateTableCommandInput {
  const projection = { ProjectionType: "ALL" as const };
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: "id", AttributeType: "S" },
      { AttributeName: "repository", AttributeType: "S" },
      { AttributeName: "status", AttributeType: "S" },
      { AttributeName: "submittedAt", AttributeType: "S" },
    ],
    KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
    GlobalSecondaryIndexes: [
      {
        IndexName: INDEXES.byRepository,
        KeySchema: [
          { AttributeName: "repository", KeyType: "HASH" },
          { AttributeName: "submittedAt", KeyType: "RANGE" },
        ],
        Projection: projection,
      },
      {
        IndexName: INDEXES.byStatus,
        KeySchema: [
          { AttributeName: "status", KeyType: "HASH" },
          { AttributeName: "submittedAt", KeyType: "RANGE" },
        ],
        Projection: projection,
      },
    ],
  };
}
