import { readFileSync } from "node:fs";
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { DescribeClusterCommand, EKSClient } from "@aws-sdk/client-eks";
import {
  CreateBucketCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { awsConfig, bed, uniqueName } from "../../support/bed.js";
import { lacks } from "../../support/needs.js";

const withoutEks = lacks("emulated-eks", "moto's EKS cluster describing the bed's API server");

describe("the bed's AWS emulator", () => {
  it("delivers an S3 event to SQS when an object is put under the notified prefix", async () => {
    // Prepare
    const s3 = new S3Client(awsConfig());
    const sqs = new SQSClient(awsConfig());
    const bucket = uniqueName("bed-events");
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("bed-events") }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: {
          QueueConfigurations: [
            {
              QueueArn: Attributes?.QueueArn,
              Events: ["s3:ObjectCreated:*"],
              Filter: { Key: { FilterRules: [{ Name: "prefix", Value: "contexts/" }] } },
            },
          ],
        },
      }),
    );

    // Act
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "other/ignored.txt", Body: "x" }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "contexts/app/v1.tar.gz", Body: "x" }));
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5, MaxNumberOfMessages: 10 }),
    );

    // Assess
    const keys = (received.Messages ?? []).flatMap(
      (m) => (JSON.parse(m.Body ?? "{}") as { Records?: { s3: { object: { key: string } } }[] }).Records ?? [],
    );
    // Event keys arrive URL-encoded (moto encodes "/" too, real S3 does not); both decode alike.
    expect(keys.map((r) => decodeURIComponent(r.s3.object.key.replaceAll("+", " ")))).toEqual([
      "contexts/app/v1.tar.gz",
    ]);
  });

  it("refuses a conditional put the second time", async () => {
    const dynamo = new DynamoDBClient(awsConfig());
    const table = uniqueName("bed-table");
    await dynamo.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      }),
    );
    const put = new PutItemCommand({
      TableName: table,
      Item: { id: { S: "build-1" } },
      ConditionExpression: "attribute_not_exists(id)",
    });

    await dynamo.send(put);

    await expect(dynamo.send(put)).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it.skipIf(withoutEks)("describes the bed's EKS cluster with the real API server endpoint and CA", async () => {
    const info = bed();
    const eks = new EKSClient(awsConfig());

    const { cluster } = await eks.send(new DescribeClusterCommand({ name: info.cluster.name }));

    expect(cluster?.endpoint).toBe(info.cluster.endpoint);
    const ca = Buffer.from(cluster?.certificateAuthority?.data ?? "", "base64").toString("utf8");
    expect(ca).toBe(readFileSync(info.cluster.caFile, "utf8"));
  });
});
