import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { V1Job } from "@kubernetes/client-node";
import { parse } from "yaml";
import type { BedInfo } from "../bed/state.js";
import { type JobSettings, renderJob } from "../src/kube/job.js";
import { submitUpload } from "../src/trigger/submit-upload.js";
import { cpuPerItem, sampleCpu } from "./cpu.js";
import { benchDeployment, benchName } from "./setup.js";
import { percentile, pool } from "./stats.js";

const run = promisify(execFile);
const NAMESPACE = "dropbuild";

/**
 * The very Job a build creates (the bench deployment's settings, suspended as
 * under a cap), renamed per copy: the floor and the peer create the same
 * object dropbuild does, so the comparison is of the work around it.
 */
function buildJobFactory(settings: JobSettings): (name: string) => V1Job {
  const spec = {
    repository: "floor/app",
    tag: "1",
    tags: ["1"],
    destinations: ["registry.dropbuild.bench:5000/floor/app:1"],
    dockerfile: "Dockerfile",
    buildArgs: {},
  };
  const template = renderJob(
    {
      buildId: "0000000000000000",
      jobName: "template",
      spec,
      source: { bucket: "bench", key: "contexts/floor/app/1.tar.gz", versionId: "v1" },
      suspend: true,
    },
    settings,
  );
  return (name) => ({ ...template, metadata: { ...template.metadata, name } });
}

/** The floor: raw Job creates over one HTTP/2 connection, `concurrency` streams at once. */
async function floor(bed: BedInfo, job: (name: string) => V1Job, count: number, concurrency: number): Promise<number> {
  const kubeconfig = parse(readFileSync(bed.kubeconfigs.admin, "utf8")) as {
    users: { user: { "client-certificate": string; "client-key": string } }[];
  };
  const user = kubeconfig.users[0]?.user;
  const session = connect(bed.cluster.endpoint, {
    ca: readFileSync(bed.cluster.caFile),
    cert: readFileSync(user?.["client-certificate"] ?? ""),
    key: readFileSync(user?.["client-key"] ?? ""),
  });
  const prefix = benchName("floor");
  const create = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify(job(`${prefix}-${i}`));
      const req = session.request({
        ":method": "POST",
        ":path": `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`,
        "content-type": "application/json",
      });
      let status = 0;
      req.on("response", (headers) => {
        status = Number(headers[":status"]);
      });
      req.on("data", () => {});
      req.on("end", () => (status === 201 ? resolve() : reject(new Error(`floor create answered ${status}`))));
      req.on("error", reject);
      req.end(body);
    });
  const started = performance.now();
  await pool(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    create,
  );
  const seconds = (performance.now() - started) / 1000;
  session.close();
  return count / seconds;
}

/** The peer: the seed article's way, `kubectl create -f job.yaml` per build. */
async function kubectl(
  bed: BedInfo,
  job: (name: string) => V1Job,
  count: number,
  concurrency: number,
): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "dropbuild-bench-"));
  const prefix = benchName("kubectl");
  const files: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const file = join(dir, `job-${i}.json`);
    await writeFile(file, JSON.stringify(job(`${prefix}-${i}`)));
    files.push(file);
  }
  const started = performance.now();
  await pool(files, concurrency, (file) =>
    run(bed.kubectl, ["--kubeconfig", bed.kubeconfigs.admin, "-n", NAMESPACE, "create", "-f", file]),
  );
  return count / ((performance.now() - started) / 1000);
}

export interface ThroughputFigures {
  count: number;
  concurrency: number;
  floorPerSecond: number;
  /** The AWS emulator alone: the S3 GET and conditional DynamoDB put each upload needs. */
  emulatorPerSecond: number;
  kubectlPerSecond: number;
  dropbuildPerSecond: number;
  /** CPU ms per Job by component while the floor ran, and while dropbuild ran. */
  floorCpu: [string, number][];
  dropbuildCpu: [string, number][];
}

export async function throughput(bed: BedInfo, count = 200, concurrency = 10): Promise<ThroughputFigures> {
  // The cap makes every dropbuild Job suspended too, so all three create the same kind of object.
  const deployment = await benchDeployment(bed, { MAX_CONCURRENT_BUILDS: "1" });
  const notices = await deployment.upload(count, "tp/app");
  const job = buildJobFactory(deployment.submit.settings.job);
  const beforeFloor = sampleCpu(bed);
  const floorPerSecond = await floor(bed, job, count, concurrency);
  const floorCpu = cpuPerItem(beforeFloor, sampleCpu(bed), count);
  const emulatorPerSecond = await emulator(deployment, count, concurrency);
  const kubectlPerSecond = await kubectl(bed, job, count, concurrency);
  const beforeDropbuild = sampleCpu(bed);
  const started = performance.now();
  const outcomes = await pool(notices, concurrency, (notice) => submitUpload(notice, deployment.submit));
  const dropbuildPerSecond = count / ((performance.now() - started) / 1000);
  const dropbuildCpu = cpuPerItem(beforeDropbuild, sampleCpu(bed), count);
  const created = outcomes.filter((o) => o.outcome === "submitted").length;
  if (created !== count) throw new Error(`dropbuild submitted ${created} of ${count}`);
  return {
    count,
    concurrency,
    floorPerSecond,
    emulatorPerSecond,
    kubectlPerSecond,
    dropbuildPerSecond,
    floorCpu,
    dropbuildCpu,
  };
}

/** The emulator's own limit for one upload's AWS calls: GET the context (read it all), conditional put. */
async function emulator(
  deployment: Awaited<ReturnType<typeof benchDeployment>>,
  count: number,
  concurrency: number,
): Promise<number> {
  const notices = await deployment.upload(count, "emu/app");
  const started = performance.now();
  await pool(notices, concurrency, async (notice, i) => {
    const object = await deployment.submit.objects.fetch({
      bucket: notice.bucket,
      key: decodeURIComponent(notice.encodedKey),
      versionId: notice.versionId,
    });
    for await (const _ of object?.body ?? []) {
      // drain
    }
    await deployment.submit.store.create({
      id: `emulator-${i}-${Date.now()}`,
      status: "QUEUED",
      statusRank: 0,
      repository: "emu/app",
      tag: String(i),
      destinations: [],
      source: { bucket: notice.bucket, key: notice.encodedKey },
      trigger: "upload",
      namespace: "dropbuild",
      submittedAt: new Date().toISOString(),
      attempts: 0,
      expiresAt: 0,
    });
  });
  return count / ((performance.now() - started) / 1000);
}

export interface LatencyFigures {
  events: number;
  p50Ms: number;
  p99Ms: number;
}

/** Warm latency: handler invoke → record written and Job created, one event at a time. */
export async function latency(bed: BedInfo, events = 200): Promise<LatencyFigures> {
  const deployment = await benchDeployment(bed, { MAX_CONCURRENT_BUILDS: "1" });
  const notices = await deployment.upload(events + 10, "lat/app");
  for (const notice of notices.slice(0, 10)) await submitUpload(notice, deployment.submit); // warm up
  const times: number[] = [];
  for (const notice of notices.slice(10)) {
    const started = performance.now();
    const outcome = await submitUpload(notice, deployment.submit);
    times.push(performance.now() - started);
    if (outcome.outcome !== "submitted") throw new Error(`unexpected outcome ${outcome.outcome}`);
  }
  return { events, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
}
