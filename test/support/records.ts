import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { BuildRecord } from "../../src/build/record.js";
import type { Config } from "../../src/config.js";
import { INDEXES } from "../../src/store/table.js";
import { awsConfig } from "./bed.js";

/** Records of one repository, newest first, read through the by-repository index. */
export async function queryByRepository(config: Config, repository: string): Promise<BuildRecord[]> {
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(awsConfig()));
  const { Items } = await doc.send(
    new QueryCommand({
      TableName: config.buildsTable,
      IndexName: INDEXES.byRepository,
      KeyConditionExpression: "repository = :r",
      ExpressionAttributeValues: { ":r": repository },
      ScanIndexForward: false,
    }),
  );
  return (Items ?? []) as BuildRecord[];
}
