import { buildIdFor } from "../../src/build/identity.js";
import type { BuildRecord } from "../../src/build/record.js";
import { createLogger } from "../../src/log.js";
import { type ReconcileReport, reconcile } from "../../src/reconcile/reconcile.js";
import { createTriggerHandler } from "../../src/trigger/handler.js";
import type { deployOnBed } from "./deployment.js";
import { gzip, sampleContext } from "./tar.js";

type Deployment = Awaited<ReturnType<typeof deployOnBed>>;
const logger = createLogger("test");

/** Upload a sample context and run the trigger on its real S3 notification; returns the build id. */
export function submitSample(env: Deployment, key: string, buildArgs?: Record<string, string>): Promise<string> {
  return submitContext(
    env,
    key,
    gzip(sampleContext()),
    buildArgs ? { "build-args": JSON.stringify(buildArgs) } : undefined,
  );
}

/** Upload a context (its bytes, its object metadata) and run the trigger on its S3 notification; returns the build id. */
export async function submitContext(
  env: Deployment,
  key: string,
  body: Buffer,
  metadata?: Record<string, string>,
): Promise<string> {
  await env.upload(key, body, metadata);
  const events = await env.notifications(1);
  const handler = createTriggerHandler(env.deps, logger);
  for (const event of events) await handler(event);
  const record = events[0]?.Records[0]?.s3;
  return buildIdFor({
    bucket: record?.bucket.name ?? "",
    key: decodeURIComponent((record?.object.key ?? "").replaceAll("+", " ")),
    versionId: record?.object.versionId,
    etag: record?.object.eTag,
  });
}

/** Run the reconciler until the record satisfies `done`, as its schedule would. */
export async function reconcileUntil(
  env: Deployment,
  id: string,
  done: (record: BuildRecord) => boolean,
  timeoutMs = 90_000,
): Promise<{ record: BuildRecord; reports: ReconcileReport[] }> {
  const reports: ReconcileReport[] = [];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    reports.push(await reconcile(env.reconcileDeps));
    const record = await env.deps.store.get(id);
    if (record && done(record)) return { record, reports };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(
    `build ${id} did not reach the expected state; last: ${JSON.stringify(await env.deps.store.get(id))}`,
  );
}
