import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { BuildRecord } from "../build/record.js";

export type CreateResult = { created: true } | { created: false; existing: BuildRecord };

/** Build records in DynamoDB. Takes a document client, so tests point it at the emulator. */
export class BuildStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Create the record unless one with this id exists. The id is derived from
   * the upload, so a redelivered S3 event lands here and finds the first
   * record, which it gets back instead of overwriting.
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
      const existing = (await this.get(record.id)) ?? (error.Item as BuildRecord | undefined);
      if (!existing) throw error;
      return { created: false, existing };
    }
  }

  async get(id: string): Promise<BuildRecord | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: { id }, ConsistentRead: true }));
    return Item as BuildRecord | undefined;
  }
}
