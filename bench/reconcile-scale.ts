import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { BatchWriteItemCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { BatchV1Api, KubeConfig } from "@kubernetes/client-node";
import { repoRoot } from "../bed/paths.js";
import type { BedInfo } from "../bed/state.js";
import { queuedRecord } from "../src/build/record.js";
import { renderJob } from "../src/kube/job.js";
import { applyManifests } from "../src/local/provision.js";
import { jobSettings } from "../src/wiring.js";
import { adminAws, allJobs, benchDeployment, benchWiring } from "./setup.js";
import { pool } from "./stats.js";

const run = promisify(execFile);

/** The reconcile side of a bench deployment, rebuilt in the child process from names. */
export function benchDeploymentFor(bed: BedInfo, bucket: string, table: string, env: Record<string, string> = {}) {
  const { config, wired } = benchWiring(bed, bucket, table, env);
  return { config, reconcile: { ...wired.reconcile, remainingMs: () => 3_600_000 } };
}

export interface ReconcileFigure {
  jobs: number;
  wallMs: number;
  listCalls: number;
  writes: number;
  secondRunWrites: number;
  maxRssMb: number;
  prepareMs: number;
}

/** N finished build Jobs (created directly through the API; kwok completes them), with their records. */
export async function reconcileScale(bed: BedInfo, jobs: number): Promise<ReconcileFigure> {
  const prepared = performance.now();
  const deployment = await benchDeployment(bed);
  const settings = jobSettings(deployment.config);
  // infra/k8s caps the namespace at 32 CPUs of builds; thousands of simulated Jobs should not queue on
  // it (and the Job controller backs off for minutes on quota refusals).
  // Applied as infra/k8s's own field manager, so the next deployment's apply takes it back.
  await applyManifests(
    bed.kubectl,
    bed.kubeconfigs.admin,
    JSON.stringify({
      apiVersion: "v1",
      kind: "ResourceQuota",
      metadata: { name: "dropbuild-builds", namespace: settings.namespace },
      spec: { hard: { "requests.cpu": "1M", "requests.memory": "1Pi", "limits.memory": "1Pi", pods: "1M" } },
    }),
  );
  const dynamo = new DynamoDBClient(adminAws(bed));
  // 16 hex digits like real build ids, distinct per size so runs at several sizes share one bed.
  const ids = Array.from(
    { length: jobs },
    (_, i) => `${jobs.toString(16).padStart(6, "0")}${i.toString(16).padStart(10, "0")}`,
  );
  const now = new Date();
  const records = ids.map((id, i) => {
    const spec = {
      repository: "scale/app",
      tag: String(i),
      tags: [String(i)],
      destinations: [`r/scale/app:${i}`],
      dockerfile: "Dockerfile",
      buildArgs: {},
    };
    const source = { bucket: deployment.bucket, key: `contexts/scale/app/${i}.tar.gz`, versionId: `v${i}` };
    const ctx = { id, source, trigger: "upload" as const, namespace: settings.namespace, now, retentionDays: 1 };
    return {
      record: queuedRecord(ctx, spec, `dropbuild-${id}`),
      job: renderJob({ buildId: id, jobName: `dropbuild-${id}`, spec, source }, settings),
    };
  });
  for (let i = 0; i < records.length; i += 25) {
    await dynamo.send(
      new BatchWriteItemCommand({
        RequestItems: {
          [deployment.table]: records
            .slice(i, i + 25)
            .map(({ record }) => ({ PutRequest: { Item: marshall(record, { removeUndefinedValues: true }) } })),
        },
      }),
    );
  }
  const kc = new KubeConfig();
  kc.loadFromFile(bed.kubeconfigs.admin);
  const batch = kc.makeApiClient(BatchV1Api);
  await pool(records, 20, ({ job }) => batch.createNamespacedJob({ namespace: settings.namespace, body: job }));
  // Wait until kwok has run every pod and the Job controller marked every Job Complete.
  const selector = `dropbuild.dev/deployment=${deployment.table}`;
  for (;;) {
    let complete = 0;
    for await (const job of allJobs(bed.kubeconfigs.admin, settings.namespace, selector)) {
      if (job.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True")) complete += 1;
    }
    if (complete === jobs) break;
    // Each poll lists every Job: at 10,000 that is real load on the API server the Jobs are waiting for.
    await new Promise((resolve) => setTimeout(resolve, Math.max(2000, jobs)));
  }
  const prepareMs = performance.now() - prepared;
  const { stdout } = await run(
    process.execPath,
    [join(repoRoot, "node_modules", "tsx", "dist", "cli.mjs"), join(repoRoot, "bench", "reconcile-child.ts")],
    {
      env: { ...process.env, BENCH_INPUT: JSON.stringify({ bed, bucket: deployment.bucket, table: deployment.table }) },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const result = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as {
    first: { wallMs: number; listCalls: number; writes: number; finalizersRemoved: number };
    second: { writes: number };
    maxRssMb: number;
  };
  if (result.first.finalizersRemoved !== jobs)
    throw new Error(`reconcile released ${result.first.finalizersRemoved} of ${jobs} Jobs`);
  return {
    jobs,
    wallMs: result.first.wallMs,
    listCalls: result.first.listCalls,
    writes: result.first.writes,
    secondRunWrites: result.second.writes,
    maxRssMb: result.maxRssMb,
    prepareMs,
  };
}
