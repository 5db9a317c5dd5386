import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { DynamoDBDocumentClient, paginateScan } from "@aws-sdk/lib-dynamodb";
import type { BedInfo } from "../bed/state.js";
import type { BuildRecord } from "../src/build/record.js";
import { fileLogger } from "../src/log.js";
import { createReconcileHandler } from "../src/reconcile/handler.js";
import { gzip, sampleContext } from "../test/support/tar.js";
import { BuildWatch } from "./build-watch.js";
import { adminAws, benchDeployment, startTriggerOnUploads } from "./setup.js";
import { percentile } from "./stats.js";

/** EventBridge's schedule: `rate(1 minute)` is as often as a schedule fires. */
const SCHEDULE_MS = 60_000;
/** The reconcile function's timeout (serverless.yml). */
const TIMEOUT_MS = 120_000;
const CAP = 3;
const BUILD_MS = 2000;

export interface LatencyMode {
  /** Shown in the figure. */
  name: string;
  /** RECONCILE_WATCH_SECONDS: 0 is a pass per invocation alone (before issue 17). */
  watchSeconds: number;
  uploads: number;
  /** Seconds between uploads, drawn uniformly from this range (slots stay free: a build takes 2 s, the cap is 3). */
  gapSeconds: [number, number];
}

export interface LatencyFigures {
  mode: LatencyMode;
  builds: number;
  /** Upload (PutObject sent) → the Job seen unsuspended on a watch, ms. */
  release: { p50: number; p95: number; max: number };
  /** The Job seen Complete on a watch → the outcome event published (the record's eventPublishedAt), ms. */
  outcome: { p50: number; p95: number; max: number };
  /** Scheduled invocations, and those skipped because the previous one still ran (Lambda: throttled at reserved concurrency 1). */
  invocations: number;
  throttled: number;
}

const summary = (values: number[]) => ({
  p50: percentile(values, 50),
  p95: percentile(values, 95),
  max: Math.max(...values),
});

/**
 * Upload → release and finish → outcome as users meet them on AWS: the
 * trigger on each upload's S3 notification, the reconcile function invoked
 * once a minute (EventBridge's finest schedule) with its 120 s timeout, at
 * most one at a time, a cap of 3. Uploads arrive a few seconds apart, so a
 * slot is free for each: the figure is the time to act, not time queued.
 */
export async function releaseLatency(bed: BedInfo, mode: LatencyMode): Promise<LatencyFigures> {
  const deployment = await benchDeployment(bed, {
    MAX_CONCURRENT_BUILDS: String(CAP),
    RECONCILE_WATCH_SECONDS: String(mode.watchSeconds),
  });
  const aws = adminAws(bed);
  const log = (name: string) => fileLogger(`bench-${name}`, join(bed.stateDir, "logs", `latency-${name}.log`));
  const invoker = await startTriggerOnUploads(bed, deployment, log("trigger"));
  const { remainingMs: _unused, ...reconcileDeps } = deployment.reconcile;
  const reconcile = createReconcileHandler(reconcileDeps, log("reconcile"), mode.watchSeconds * 1000);
  const schedule = everyMinute((remainingMs) => reconcile(remainingMs));
  const watch = await BuildWatch.start(bed.kubeconfigs.admin, "dropbuild");
  try {
    const uploadedAt = await uploadSpaced(deployment.bucket, aws, mode);
    const records = await allPublished(deployment.table, aws, mode.uploads);
    const release: number[] = [];
    const outcome: number[] = [];
    for (const record of records) {
      const seen = watch.of(record.jobName ?? "").seenAt;
      const uploaded = uploadedAt.get(record.source.key);
      if (seen.released === undefined || seen.complete === undefined || uploaded === undefined)
        throw new Error(`build ${record.id}: its release or completion was not seen`);
      release.push(seen.released - uploaded);
      outcome.push(Date.parse(record.eventPublishedAt ?? "") - seen.complete);
    }
    return {
      mode,
      builds: records.length,
      release: summary(release),
      outcome: summary(outcome),
      ...schedule.counts(),
    };
  } finally {
    await watch.stop();
    await schedule.stop();
    await invoker.stop();
  }
}

/** Upload the mode's contexts a random few seconds apart; when each PutObject was sent, by key. */
async function uploadSpaced(bucket: string, aws: ReturnType<typeof adminAws>, mode: LatencyMode) {
  const s3 = new S3Client(aws);
  const body = gzip(sampleContext());
  const uploadedAt = new Map<string, number>();
  const [low, high] = mode.gapSeconds;
  for (let i = 0; i < mode.uploads; i += 1) {
    await sleep((low + Math.random() * (high - low)) * 1000);
    const key = `contexts/latency/${mode.watchSeconds}s/${i}.tar.gz`;
    uploadedAt.set(key, Date.now());
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        Metadata: { "build-args": JSON.stringify({ DROPBUILD_SIMULATE_DURATION_MS: String(BUILD_MS) }) },
      }),
    );
  }
  return uploadedAt;
}

/** Wait (up to 3 schedule periods after the last upload) until every build's outcome event is out. */
async function allPublished(table: string, aws: ReturnType<typeof adminAws>, expected: number): Promise<BuildRecord[]> {
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient(aws));
  const deadline = Date.now() + 3 * SCHEDULE_MS;
  for (;;) {
    const records: BuildRecord[] = [];
    for await (const page of paginateScan({ client: documents }, { TableName: table })) {
      records.push(...((page.Items ?? []) as BuildRecord[]));
    }
    const done = records.filter((record) => record.eventPublishedAt);
    if (done.length === expected) return done;
    if (Date.now() > deadline) throw new Error(`${done.length} of ${expected} builds were published in time`);
    await sleep(1000);
  }
}

/**
 * The reconcile function as EventBridge and Lambda run it: invoked every
 * minute, each invocation told its remaining time from a 120 s timeout;
 * with reserved concurrency 1, an invocation due while the last still runs
 * is throttled (skipped here).
 */
function everyMinute(invoke: (remainingMs: () => number) => Promise<unknown>) {
  let running: Promise<unknown> | undefined;
  let invocations = 0;
  let throttled = 0;
  const fire = () => {
    if (running) {
      throttled += 1;
      return;
    }
    invocations += 1;
    const started = performance.now();
    running = invoke(() => TIMEOUT_MS - (performance.now() - started))
      .catch((error: unknown) => process.stderr.write(`reconcile invocation failed: ${String(error)}\n`))
      .finally(() => {
        running = undefined;
      });
  };
  // The first run falls somewhere in the minute, as a schedule's does relative to an upload.
  const first = setTimeout(() => {
    fire();
    timer = setInterval(fire, SCHEDULE_MS);
  }, Math.random() * SCHEDULE_MS);
  let timer: NodeJS.Timeout | undefined;
  return {
    counts: () => ({ invocations, throttled }),
    async stop() {
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
