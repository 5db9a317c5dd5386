import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import type { V1Job } from "@kubernetes/client-node";
import type { BedInfo } from "../bed/state.js";
import { type JobSettings, renderJob } from "../src/kube/job.js";
import type { ClusterConnection } from "../src/kube/rest.js";
import { submitUpload } from "../src/trigger/submit-upload.js";
import { cpuPerItem, sampleCpu } from "./cpu.js";
import { benchDeployment, benchName } from "./setup.js";
import { percentile, pool } from "./stats.js";

const run = promisify(execFile);
const NAMESPACE = "dropbuild";
/** Uploads submitted before the measured ones. */
const WARM_UP = 20;

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

/**
 * The floor: raw Job creates over one HTTP/2 connection, `concurrency`
 * streams at once, presenting the functions' own bearer token, so the API
 * server authenticates (token webhook, cached) and authorizes (RBAC) each
 * create as it does dropbuild's.
 */
async function floor(
  connection: ClusterConnection,
  job: (name: string) => V1Job,
  count: number,
  concurrency: number,
  /** Creates per second at most (started on a schedule); unpaced when undefined. */
  pace?: number,
): Promise<number> {
  const session = connect(connection.server, { ca: connection.ca });
  const prefix = benchName("floor");
  const create = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify(job(`${prefix}-${i}`));
      const req = session.request({
        ":method": "POST",
        ":path": `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`,
        "content-type": "application/json",
        authorization: `Bearer ${connection.token}`,
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
    async (i) => {
      const due = pace ? started + (i * 1000) / pace - performance.now() : 0;
      if (due > 0) await sleep(due);
      await create(i);
    },
  );
  const seconds = (performance.now() - started) / 1000;
  session.close();
  return count / seconds;
}

/**
 * The peer: the seed article's way, `kubectl create -f job.yaml` per build,
 * with a kubeconfig holding the functions' bearer token (token + RBAC, as
 * the functions and the floor).
 */
async function kubectl(
  bed: BedInfo,
  connection: ClusterConnection,
  job: (name: string) => V1Job,
  count: number,
  concurrency: number,
): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), "dropbuild-bench-"));
  const kubeconfig = join(dir, "kubeconfig");
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "bed", cluster: { server: connection.server, "certificate-authority": bed.cluster.caFile } }],
      users: [{ name: "functions", user: { token: connection.token } }],
      contexts: [{ name: "bed", context: { cluster: "bed", user: "functions", namespace: NAMESPACE } }],
      "current-context": "bed",
    }),
  );
  const prefix = benchName("kubectl");
  const files: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const file = join(dir, `job-${i}.json`);
    await writeFile(file, JSON.stringify(job(`${prefix}-${i}`)));
    files.push(file);
  }
  const started = performance.now();
  await pool(files, concurrency, (file) => run(bed.kubectl, ["--kubeconfig", kubeconfig, "create", "-f", file]));
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
  /** CPU ms per Job by component while the floor created Jobs at dropbuild's rate. */
  pacedFloorCpu: [string, number][];
  /** The trigger's own CPU per upload (this process: validation, inspection, the AWS and Kubernetes clients). */
  triggerCpuMs: number;
}

export async function throughput(bed: BedInfo, count = 200, concurrency = 10): Promise<ThroughputFigures> {
  // The cap makes every dropbuild Job suspended too, so all three create the same kind of object.
  const deployment = await benchDeployment(bed, { MAX_CONCURRENT_BUILDS: "1" });
  const uploads = await deployment.upload(count + WARM_UP, "tp/app");
  const [warmUp, notices] = [uploads.slice(0, WARM_UP), uploads.slice(WARM_UP)];
  const job = buildJobFactory(deployment.submit.settings.job);
  const connection = await deployment.connect();
  const beforeFloor = sampleCpu(bed);
  const floorPerSecond = await floor(connection, job, count, concurrency);
  const floorCpu = cpuPerItem(beforeFloor, sampleCpu(bed), count);
  const emulatorPerSecond = await emulator(deployment, count, concurrency);
  const kubectlPerSecond = await kubectl(bed, connection, job, count, concurrency);
  // Warm, as a Lambda serving a stream of uploads is: connections open, the token cached, code compiled.
  await pool(warmUp, concurrency, (notice) => submitUpload(notice, deployment.submit));
  const beforeDropbuild = sampleCpu(bed);
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  const outcomes = await pool(notices, concurrency, (notice) => submitUpload(notice, deployment.submit));
  const dropbuildPerSecond = count / ((performance.now() - started) / 1000);
  const own = process.cpuUsage(ownBefore);
  const triggerCpuMs = (own.user + own.system) / 1000 / count;
  const dropbuildCpu = cpuPerItem(beforeDropbuild, sampleCpu(bed), count);
  // The API server's CPU per request grows as the rate falls (its own work per second is spread over fewer
  // requests), so its share is compared with the floor's at dropbuild's rate.
  const beforePaced = sampleCpu(bed);
  await floor(connection, job, count, concurrency, dropbuildPerSecond);
  const pacedFloorCpu = cpuPerItem(beforePaced, sampleCpu(bed), count);
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
    triggerCpuMs,
    pacedFloorCpu,
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
