import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readState } from "../../../bed/state.js";
import { startComponent, stopComponent } from "../../../bed/up.js";
import type { BuildRecord } from "../../../src/build/record.js";
import type { LocalState } from "../../../src/local/runtime.js";
import { eventually } from "../../support/bed.js";
import { dropbuild } from "../../support/cli.js";
import { lacks } from "../../support/needs.js";
import { gzip, sampleContext } from "../../support/tar.js";

/**
 * `dropbuild local …` end to end: its own bed, in a directory of its own.
 * Simulated (`--simulate`): the host has one real node and the test run's
 * shared bed holds it; real builds are tested on that bed (test/integration/builds).
 */
const withoutOwnBed = lacks("bed-control-plane", "`dropbuild local` runs a bed of its own, not the target");

describe.skipIf(withoutOwnBed)("dropbuild local", () => {
  const dir = mkdtempSync(join(tmpdir(), "dropbuild-local-"));
  const local = { DROPBUILD_LOCAL_DIR: dir };
  let env: Record<string, string> = {};

  beforeAll(async () => {
    const up = await dropbuild(["local", "up", "--detach", "--simulate"], local);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toMatch(/status page and API: http:\/\/127\.0\.0\.1:\d+/);
    const printed = await dropbuild(["local", "env", "--json"], local);
    env = JSON.parse(printed.stdout) as Record<string, string>;
  }, 900_000);

  afterAll(async () => {
    await dropbuild(["local", "down"], local);
  }, 120_000);

  it("prints shell exports for dropbuild, the AWS CLI and kubectl", async () => {
    const exports = await dropbuild(["local", "env"], local);
    for (const name of [
      "AWS_ENDPOINT_URL",
      "AWS_REGION",
      "AWS_ACCESS_KEY_ID",
      "BUILDS_TABLE",
      "CONTEXTS_BUCKET",
      "KUBECONFIG",
    ]) {
      expect(exports.stdout).toMatch(new RegExp(`^export ${name}='.+'$`, "m"));
    }
  });

  it("records a build within 30 s of a context uploaded with the plain AWS SDK", async () => {
    const s3 = new S3Client({
      endpoint: env.AWS_ENDPOINT_URL,
      region: env.AWS_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? "", secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "" },
    });
    const started = Date.now();
    await s3.send(
      new PutObjectCommand({
        Bucket: env.CONTEXTS_BUCKET,
        Key: "contexts/plain/sdk/1.0.tar.gz",
        Body: gzip(sampleContext()),
      }),
    );

    let record: BuildRecord | undefined;
    while (Date.now() - started < 30_000) {
      const list = await dropbuild(["builds", "list", "--repository", "plain/sdk", "--json"], env);
      record = (JSON.parse(list.stdout) as { builds: BuildRecord[] }).builds[0];
      if (record?.status === "SUCCEEDED") break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }

    expect(record?.status).toBe("SUCCEEDED");
    expect(record?.digest).toMatch(/^sha256:/);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 60_000);

  it("runs the demo: one build SUCCEEDED with a digest, one FAILED with its reason", async () => {
    const demo = await dropbuild(["demo"], local);

    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stderr).toMatch(/SIMULATED/);
    expect(demo.stdout).toMatch(/examples\/hello:1\.0: SUCCEEDED sha256:[0-9a-f]{64}/);
    expect(demo.stdout).toMatch(/examples\/broken:1\.0: FAILED\n {2}reason: BackoffLimitExceeded/);
    expect(demo.stdout).toMatch(/status page: http:\/\/127\.0\.0\.1:\d+/);
  }, 300_000);

  it("gives the same JSON from `builds list --json` as from GET /builds, for the same filters", async () => {
    for (const filters of [
      { cli: [], query: "" },
      { cli: ["--repository", "examples/hello"], query: "repository=examples%2Fhello" },
      { cli: ["--status", "FAILED", "--limit", "5"], query: "status=FAILED&limit=5" },
      { cli: ["--since", "2026-01-01T00:00:00Z", "--limit", "2"], query: "since=2026-01-01T00%3A00%3A00Z&limit=2" },
      {
        cli: ["--since", "2026-01-01T00:00:00Z", "--until", "2099-01-01T00:00:00Z"],
        query: "since=2026-01-01T00%3A00%3A00Z&until=2099-01-01T00%3A00%3A00Z",
      },
    ]) {
      const cli = await dropbuild(["builds", "list", "--json", ...filters.cli], env);
      const api = await fetch(`${env.DROPBUILD_API_URL}/builds?${filters.query}`);
      expect(api.status).toBe(200);
      expect(JSON.parse(cli.stdout)).toEqual(await api.json());
    }
  }, 60_000);

  it("parks uploads in the dead-letter queue while the API server is down, and redrive builds every one", async () => {
    const bedDir = join(dir, "bed");
    const s3 = new S3Client({
      endpoint: env.AWS_ENDPOINT_URL,
      region: env.AWS_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? "", secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "" },
    });
    const sqs = new SQSClient({
      endpoint: env.AWS_ENDPOINT_URL,
      region: env.AWS_REGION,
      credentials: s3.config.credentials,
    });
    const parked = async () => {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: env.DROPBUILD_DLQ_URL,
          AttributeNames: ["ApproximateNumberOfMessages"],
        }),
      );
      return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
    };
    const keys = ["1", "2", "3"].map((n) => `contexts/outage/app/${n}.tar.gz`);

    await stopComponent(bedDir, "kube-apiserver");
    try {
      for (const key of keys)
        await s3.send(new PutObjectCommand({ Bucket: env.CONTEXTS_BUCKET, Key: key, Body: gzip(sampleContext()) }));
      const deadline = Date.now() + 60_000;
      while ((await parked()) < keys.length && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await parked()).toBe(keys.length);
    } finally {
      await startComponent(bedDir, "kube-apiserver");
    }
    const state = JSON.parse(readFileSync(join(dir, "local.json"), "utf8")) as LocalState;
    await eventually("the API server to answer again", async () => {
      const kc = new KubeConfig();
      kc.loadFromFile(state.bed.kubeconfigs.admin);
      return (await kc.makeApiClient(CoreV1Api).listNamespace()).items.length ? true : undefined;
    });

    const redrive = await dropbuild(["redrive", "--json"], env);

    expect(redrive.code, redrive.stderr).toBe(0);
    expect(JSON.parse(redrive.stdout)).toMatchObject({ replayed: 3, duplicates: 0, failed: 0 });
    expect(await parked()).toBe(0);
    const built = await eventually("every parked upload to be built", async () => {
      const list = await dropbuild(["builds", "list", "--repository", "outage/app", "--json"], env);
      const builds = (JSON.parse(list.stdout) as { builds: BuildRecord[] }).builds;
      return builds.length === keys.length && builds.every((b) => b.status === "SUCCEEDED") ? builds : undefined;
    });
    // Uploads in, recorded builds out: equal.
    expect(built.map((b) => b.source.key).sort()).toEqual(keys);
  }, 180_000);

  it("stops every process it started, also while a trigger invocation is stuck on a frozen API server", async () => {
    const state = JSON.parse(readFileSync(join(dir, "local.json"), "utf8")) as LocalState;
    // A frozen API server (SIGSTOP) accepts connections and never answers: the trigger's Job create hangs.
    const apiserver = readState(join(dir, "bed"))?.daemons.find((d) => d.name === "kube-apiserver");
    if (!apiserver) throw new Error("the local bed has no kube-apiserver");
    process.kill(apiserver.pid, "SIGSTOP");
    const key = "contexts/stuck/app/1.tar.gz";
    const s3 = new S3Client({
      endpoint: env.AWS_ENDPOINT_URL,
      region: env.AWS_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? "", secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "" },
    });
    await s3.send(new PutObjectCommand({ Bucket: env.CONTEXTS_BUCKET, Key: key, Body: gzip(sampleContext()) }));
    // The record is written before the Job is created: once it is there, the invocation is waiting on the API server.
    await eventually("the stuck upload's record", async () => {
      const list = await dropbuild(["builds", "list", "--repository", "stuck/app", "--json"], env);
      return (JSON.parse(list.stdout) as { builds: BuildRecord[] }).builds[0];
    });

    const started = Date.now();
    const down = await dropbuild(["local", "down"], local);

    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toMatch(/the local runtime \(pid \d+\) stopped/);
    // Within the runtime's own few seconds for invocations under way, not the 60 s before SIGKILL.
    expect(Date.now() - started, down.stderr).toBeLessThan(30_000);
    // An exited process its new parent (init) has not reaped yet (state Z) runs nothing and holds nothing: not left.
    const left = execFileSync("ps", ["-eo", "pid,stat,args"], { encoding: "utf8" })
      .split("\n")
      .filter((line) => !/^\s*\d+\s+Z/.test(line))
      .filter((line) => line.includes(state.bed.stateDir) || line.trim().startsWith(`${state.pid} `));
    expect(left).toEqual([]);
  }, 120_000);
});
