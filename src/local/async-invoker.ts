import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { errorMessage } from "../util/error-message.js";
import { waitAtMost } from "../util/wait-at-most.js";

/** What Lambda sends to an on-failure destination when an async invocation has used its retries. */
export interface FailureDestinationRecord {
  version: "1.0";
  timestamp: string;
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: "RetriesExhausted";
    approximateInvokeCount: number;
  };
  requestPayload: unknown;
  responseContext: { statusCode: number; executedVersion: string; functionError: "Unhandled" };
  responsePayload: { errorType: string; errorMessage: string };
}

export interface AsyncInvokerOptions {
  sqs: SQSClient;
  /** Where the events arrive (the S3 notification queue). */
  queueUrl: string;
  /**
   * The on-failure destination. Without one (like nightly in serverless.yml)
   * an event that used its retries is dropped, as Lambda drops it; onInvoke
   * still reports the last failure.
   */
  deadLetterQueueUrl?: string;
  functionArn: string;
  handler: (event: unknown) => Promise<unknown>;
  /** Lambda's default: the first try and 2 retries. */
  maxAttempts?: number;
  /** Lambda waits about 1 then 2 minutes; locally, seconds. */
  retryDelaySeconds?: number[];
  /**
   * The function's timeout (serverless.yml). An invocation still running then
   * is a failed attempt, as in Lambda: retried, then parked. (In-process it
   * cannot be killed; its late result is ignored, and the handlers are
   * idempotent, so a retry meeting its leftovers builds once.)
   */
  timeoutSeconds?: number;
  /** Invocations in flight at once (Lambda's concurrency); further events wait in the queue. */
  maxConcurrency?: number;
  onInvoke?: (result: { ok: boolean; attempt: number; parked: boolean; error?: string }) => void;
}

/** Lambda's own words for an invocation that ran out of time. */
export class InvocationTimeoutError extends Error {
  override name = "Sandbox.Timedout";
  constructor(seconds: number) {
    super(`Task timed out after ${seconds.toFixed(2)} seconds`);
  }
}

/** `work`, or an InvocationTimeoutError once `seconds` have passed. Pure over its inputs. */
export function withTimeout<T>(work: Promise<T>, seconds: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new InvocationTimeoutError(seconds)), seconds * 1000);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const isTestEvent = (body: unknown) =>
  typeof body === "object" && body !== null && (body as { Event?: string }).Event === "s3:TestEvent";

/** The options with Lambda's defaults filled in. */
type Invoker = AsyncInvokerOptions &
  Required<Pick<AsyncInvokerOptions, "maxAttempts" | "retryDelaySeconds" | "timeoutSeconds" | "maxConcurrency">>;

/**
 * Invoke a handler for each queued event with Lambda's asynchronous
 * semantics: a failed invocation is retried after a delay, and after its
 * last attempt the event is parked in the dead-letter queue in the format
 * Lambda's on-failure destination uses, so `dropbuild redrive` treats both
 * the same way.
 */
export function startAsyncInvoker(options: AsyncInvokerOptions): { stop: () => Promise<void> } {
  const invoker: Invoker = {
    ...options,
    maxAttempts: options.maxAttempts ?? 3,
    retryDelaySeconds: options.retryDelaySeconds ?? [1, 2],
    timeoutSeconds: options.timeoutSeconds ?? 900,
    maxConcurrency: options.maxConcurrency ?? 50,
  };
  const inFlight = new Set<Promise<unknown>>();
  let running = true;
  const loop = receiveLoop(invoker, inFlight, () => running);

  return {
    stop: async () => {
      running = false;
      await loop;
      // Let invocations under way finish, but no longer than a few seconds: stopping must not hang on one.
      await waitAtMost(Promise.all(inFlight), 5000);
    },
  };
}

/** Receive events while `running()` says so, never more than maxConcurrency invocations at once. */
async function receiveLoop(invoker: Invoker, inFlight: Set<Promise<unknown>>, running: () => boolean): Promise<void> {
  while (running()) {
    if (inFlight.size >= invoker.maxConcurrency) {
      await Promise.race(inFlight);
      continue;
    }
    try {
      const { Messages } = await invoker.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: invoker.queueUrl,
          MaxNumberOfMessages: Math.min(10, invoker.maxConcurrency - inFlight.size),
          WaitTimeSeconds: 1,
          // Longer than an invocation may run, so the queue never hands a running event out again.
          VisibilityTimeout: invoker.timeoutSeconds + 30,
          AttributeNames: ["All"],
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
      );
      // Lambda runs each asynchronous invocation on its own: one slow event never holds up the next.
      for (const message of Messages ?? []) {
        const invocation = invoke(invoker, message).catch(() => undefined);
        inFlight.add(invocation);
        void invocation.finally(() => inFlight.delete(invocation));
      }
    } catch {
      // The emulator going away (shutdown) or a blip: try again shortly.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** One attempt at one event: done on success, otherwise retried later or, after the last attempt, parked. */
async function invoke(invoker: Invoker, message: Message): Promise<void> {
  const attempt = Number(message.Attributes?.ApproximateReceiveCount ?? "1");
  const body: unknown = JSON.parse(message.Body ?? "null");
  if (isTestEvent(body)) {
    await done(invoker, message);
    return;
  }
  try {
    await withTimeout(invoker.handler(body), invoker.timeoutSeconds);
    await done(invoker, message);
    invoker.onInvoke?.({ ok: true, attempt, parked: false });
  } catch (error: unknown) {
    if (attempt >= invoker.maxAttempts) await park(invoker, message, body, attempt, error);
    else await retryLater(invoker, message, attempt, errorMessage(error));
  }
}

/** Take the event off the queue. */
const done = (invoker: Invoker, message: Message) =>
  invoker.sqs.send(new DeleteMessageCommand({ QueueUrl: invoker.queueUrl, ReceiptHandle: message.ReceiptHandle }));

/** The last attempt failed: to the on-failure destination if there is one, and off the queue either way. */
async function park(invoker: Invoker, message: Message, body: unknown, attempt: number, error: unknown): Promise<void> {
  const text = errorMessage(error);
  const record: FailureDestinationRecord = {
    version: "1.0",
    timestamp: new Date().toISOString(),
    requestContext: {
      requestId: message.MessageId ?? "",
      functionArn: invoker.functionArn,
      condition: "RetriesExhausted",
      approximateInvokeCount: attempt,
    },
    requestPayload: body,
    responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
    responsePayload: { errorType: error instanceof Error ? error.name : "Error", errorMessage: text },
  };
  if (invoker.deadLetterQueueUrl) {
    await invoker.sqs.send(
      new SendMessageCommand({ QueueUrl: invoker.deadLetterQueueUrl, MessageBody: JSON.stringify(record) }),
    );
  }
  await done(invoker, message);
  invoker.onInvoke?.({ ok: false, attempt, parked: Boolean(invoker.deadLetterQueueUrl), error: text });
}

/** A failed attempt with attempts left: the event comes back once its retry delay has passed. */
async function retryLater(invoker: Invoker, message: Message, attempt: number, errorMessage: string): Promise<void> {
  const delays = invoker.retryDelaySeconds;
  await invoker.sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: invoker.queueUrl,
      ReceiptHandle: message.ReceiptHandle,
      VisibilityTimeout: delays[attempt - 1] ?? delays.at(-1) ?? 1,
    }),
  );
  invoker.onInvoke?.({ ok: false, attempt, parked: false, error: errorMessage });
}
