import { InvokeCommand, type LambdaClient } from "@aws-sdk/client-lambda";
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { TriggerResult } from "../trigger/handler.js";
import { errorMessage } from "../util/error-message.js";

/** Runs a parked event through the trigger again and returns what it did. */
export type TriggerInvoker = (event: unknown) => Promise<TriggerResult>;

export interface RedriveReport {
  /** Events the trigger handled this time (built, rejected, or failed for good). */
  replayed: number;
  /** Events whose build already existed (the trigger had got further than it seemed). */
  duplicates: number;
  /** Events that failed again; they stay in the dead-letter queue. */
  failed: number;
  errors: string[];
}

/**
 * Replay the trigger's dead-letter queue through the same code path: each
 * parked event (Lambda's on-failure record) is invoked again; handled ones
 * leave the queue, failures stay for the next redrive.
 */
export async function redrive(sqs: SQSClient, queueUrl: string, invoke: TriggerInvoker): Promise<RedriveReport> {
  const report: RedriveReport = { replayed: 0, duplicates: 0, failed: 0, errors: [] };
  for (;;) {
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 300,
      }),
    );
    if (!Messages?.length) return report;
    for (const message of Messages) {
      const parked = JSON.parse(message.Body ?? "{}") as { requestPayload?: unknown };
      try {
        const result = await invoke(parked.requestPayload ?? parked);
        for (const outcome of result.results) {
          if (outcome.outcome === "duplicate") report.duplicates += 1;
          else report.replayed += 1;
        }
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
      } catch (error: unknown) {
        report.failed += 1;
        report.errors.push(errorMessage(error));
      }
    }
  }
}

/** Invoke the deployed trigger function synchronously (locally: the runtime's Lambda endpoint). */
export function lambdaInvoker(lambda: LambdaClient, functionName: string): TriggerInvoker {
  return async (event) => {
    const out = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: "RequestResponse",
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
    const text = new TextDecoder().decode(out.Payload ?? new Uint8Array());
    if (out.FunctionError) {
      const error = JSON.parse(text || "{}") as { errorMessage?: string };
      throw new Error(error.errorMessage ?? `the trigger failed (${out.FunctionError})`);
    }
    return JSON.parse(text) as TriggerResult;
  };
}
