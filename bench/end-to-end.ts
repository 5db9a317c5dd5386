import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { type BuildRecord, isTerminal } from "../src/build/record.js";
import { loadClientConfig } from "../src/config.js";
import { ANNOTATIONS } from "../src/kube/job.js";
import { makeBuildStore } from "../src/wiring.js";
import { dropbuild } from "../test/support/cli.js";
import { gzip, sampleContext } from "../test/support/tar.js";
import { fifoViolations, passesFromLog, type QueuedJob } from "./fifo.js";
import { allJobs } from "./setup.js";
import { pool } from "./stats.js";

export interface EndToEndFigure {
  uploads: number;
  cap: number;
  seconds: number;
  fifo: boolean;
  peakRssMb: number;
}

/** Peak resident memory of a process, from the kernel (VmHWM). */
function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0) / 1024;
}

/**
 * The local runtime with a queue cap, fed by plain S3 uploads: time until
 * every upload is recorded, whether release order followed upload order, and
 * the runtime's peak memory.
 */
export async function endToEnd(uploads: number, cap: number): Promise<EndToEndFigure> {
  const local = { DROPBUILD_LOCAL_DIR: await mkdtemp(join(tmpdir(), "dropbuild-e2e-")) };
  // kwok plays the builds: this figure is about the queue and the runtime, not kaniko.
  const up = await dropbuild(["local", "up", "--detach", "--simulate", "--set", `MAX_CONCURRENT_BUILDS=${cap}`], local);
  if (up.code !== 0) throw new Error(`local up failed: ${up.stderr}`);
  try {
    const env = JSON.parse((await dropbuild(["local", "env", "--json"], local)).stdout) as Record<string, string>;
    const state = JSON.parse(readFileSync(join(local.DROPBUILD_LOCAL_DIR, "local.json"), "utf8")) as { pid: number };
    const aws = {
      endpoint: env.AWS_ENDPOINT_URL,
      region: env.AWS_REGION,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? "", secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "" },
    };
    const s3 = new S3Client({ ...aws, forcePathStyle: true });
    const store = makeBuildStore(loadClientConfig({}, { ...env }), aws.credentials);
    const body = gzip(sampleContext());
    const started = performance.now();
    await pool(
      Array.from({ length: uploads }, (_, i) => i),
      10,
      (i) =>
        s3.send(new PutObjectCommand({ Bucket: env.CONTEXTS_BUCKET, Key: `contexts/e2e/app/${i}.tar.gz`, Body: body })),
    );
    // Poll cheaply (is anything still QUEUED or RUNNING?) and read every record only when nothing is.
    const inFlight = async () =>
      (
        await Promise.all(
          (["QUEUED", "RUNNING"] as const).map(async (status) => (await store.query({ status, limit: 1 })).records),
        )
      ).flat().length;
    let records: BuildRecord[] = [];
    for (;;) {
      if ((await inFlight()) === 0) {
        records = [];
        let cursor: string | undefined;
        do {
          const page = await store.query({ repository: "e2e/app", limit: 1000, cursor });
          records.push(...page.records);
          cursor = page.cursor;
        } while (cursor);
        if (records.length === uploads && records.every((r) => isTerminal(r.status))) break;
      }
      if (performance.now() - started > 1_800_000) throw new Error(`not all ${uploads} uploads recorded in 30 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    const seconds = (performance.now() - started) / 1000;
    // FIFO: read every Job's upload and release times back from the cluster, and the runs from the reconcile log.
    const jobs: QueuedJob[] = [];
    for await (const job of allJobs(env.KUBECONFIG ?? "", env.BUILD_NAMESPACE ?? "dropbuild")) {
      const annotations = job.metadata?.annotations ?? {};
      jobs.push({
        name: job.metadata?.name ?? "",
        queuedAt: annotations[ANNOTATIONS.queuedAt] ?? "",
        createdAt: new Date(job.metadata?.creationTimestamp ?? 0).toISOString(),
        releasedAt: annotations[ANNOTATIONS.releasedAt],
      });
    }
    const passes = passesFromLog(readFileSync(join(local.DROPBUILD_LOCAL_DIR, "reconcile.log"), "utf8"));
    const violations = fifoViolations(jobs, passes);
    for (const violation of violations.slice(0, 5)) process.stderr.write(`FIFO: ${violation}\n`);
    const fifo = violations.length === 0 && jobs.length === uploads;
    return { uploads, cap, seconds, fifo, peakRssMb: peakRssMb(state.pid) };
  } finally {
    await dropbuild(["local", "down"], local);
  }
}
