import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { type FailureDestinationRecord, startAsyncInvoker } from "../../../src/local/async-invoker.js";
import { awsConfig, eventually, uniqueName } from "../../support/bed.js";

/** The local runtime's Lambda stand-in, on the emulator's SQS: each invocation on its own, each with its timeout. */
describe("the local async invoker", () => {
  it("fails an invocation that runs past its timeout, retries and parks it, and never holds up the next event", async () => {
    const sqs = new SQSClient(awsConfig());
    const queue = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("events") }))).QueueUrl ?? "";
    const dlq = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("dlq") }))).QueueUrl ?? "";
    const done: string[] = [];
    const attempts: { ok: boolean; parked: boolean; error?: string }[] = [];
    const invoker = startAsyncInvoker({
      sqs,
      queueUrl: queue,
      deadLetterQueueUrl: dlq,
      functionArn: "arn:aws:lambda:us-east-1:123456789012:function:test",
      timeoutSeconds: 1,
      retryDelaySeconds: [0, 0],
      handler: async (event) => {
        const { name } = event as { name: string };
        if (name === "stuck") await new Promise(() => {}); // never returns, like an endless inspection
        done.push(name);
      },
      onInvoke: (result) => attempts.push(result),
    });
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: JSON.stringify({ name: "stuck" }) }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const sentQuick = Date.now();
      await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: JSON.stringify({ name: "quick" }) }));

      await eventually("the quick event handled", async () => (done.includes("quick") ? true : undefined), 10_000);
      expect(Date.now() - sentQuick).toBeLessThan(5_000);

      const parked = await eventually(
        "the stuck event parked",
        async () => {
          const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, WaitTimeSeconds: 1 }));
          return Messages?.[0];
        },
        30_000,
      );
      const record = JSON.parse(parked.Body ?? "{}") as FailureDestinationRecord;
      expect(record.requestPayload).toEqual({ name: "stuck" });
      expect(record.requestContext.approximateInvokeCount).toBe(3);
      expect(record.responsePayload.errorMessage).toBe("Task timed out after 1.00 seconds");
      const failed = await eventually("three failed attempts reported", async () => {
        const list = attempts.filter((a) => !a.ok);
        return list.length === 3 ? list : undefined;
      });
      expect(failed.map((a) => a.parked)).toEqual([false, false, true]);
    } finally {
      await invoker.stop();
    }
  }, 60_000);

  it("drops an event that used its retries when the function has no on-failure destination, as Lambda does", async () => {
    const sqs = new SQSClient(awsConfig());
    const queue = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("rebuilds") }))).QueueUrl ?? "";
    const attempts: { ok: boolean; parked: boolean }[] = [];
    const invoker = startAsyncInvoker({
      sqs,
      queueUrl: queue,
      functionArn: "arn:aws:lambda:us-east-1:123456789012:function:nightly",
      timeoutSeconds: 5,
      retryDelaySeconds: [0, 0],
      handler: async () => {
        throw new Error("no such repository");
      },
      onInvoke: (result) => attempts.push(result),
    });
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: queue, MessageBody: JSON.stringify({ name: "rebuild" }) }));
      await eventually("three failed attempts", async () => (attempts.length === 3 ? true : undefined), 20_000);
      expect(attempts.map((a) => [a.ok, a.parked])).toEqual([
        [false, false],
        [false, false],
        [false, false],
      ]);
      // Gone from its queue: not retried a fourth time.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(attempts).toHaveLength(3);
    } finally {
      await invoker.stop();
    }
  }, 60_000);
});
