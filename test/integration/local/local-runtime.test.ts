import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuildRecord } from "../../../src/build/record.js";
import type { LocalState } from "../../../src/local/runtime.js";
import { dropbuild } from "../../support/cli.js";
import { gzip, sampleContext } from "../../support/tar.js";

/** `dropbuild local …` end to end: its own bed, in a directory of its own. */
describe("dropbuild local", () => {
  const dir = mkdtempSync(join(tmpdir(), "dropbuild-local-"));
  const local = { DROPBUILD_LOCAL_DIR: dir };
  let env: Record<string, string> = {};

  beforeAll(async () => {
    const up = await dropbuild(["local", "up", "--detach"], local);
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
    ]) {
      const cli = await dropbuild(["builds", "list", "--json", ...filters.cli], env);
      const api = await fetch(`${env.DROPBUILD_API_URL}/builds?${filters.query}`);
      expect(api.status).toBe(200);
      expect(JSON.parse(cli.stdout)).toEqual(await api.json());
    }
  }, 60_000);

  it("stops every process it started", async () => {
    const state = JSON.parse(readFileSync(join(dir, "local.json"), "utf8")) as LocalState;
    const down = await dropbuild(["local", "down"], local);

    expect(down.code).toBe(0);
    const left = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line.includes(state.bed.stateDir) || line.trim().startsWith(`${state.pid} `));
    expect(left).toEqual([]);
  }, 120_000);
});
