import { describe, expect, it } from "vitest";
import type { BuildRecord } from "../../../src/build/record.js";
import { createLogger } from "../../../src/log.js";
import { createTriggerHandler } from "../../../src/trigger/handler.js";
import { awsConfig } from "../../support/bed.js";
import { dropbuild } from "../../support/cli.js";
import { deployOnBed } from "../../support/deployment.js";
import { gzip, sampleContext } from "../../support/tar.js";

/** A rejected upload keeps the part of its name that was valid, so its owners find it. */
describe("rejected uploads are findable", () => {
  it("an invalid tag under a valid repository is listed under that repository, with its key and reason", async () => {
    const env = await deployOnBed();
    const key = "contexts/team/api/with space.tar.gz";
    await env.upload(key, gzip(sampleContext()));
    for (const event of await env.notifications(1))
      await createTriggerHandler(env.deps, createLogger("findable"))(event);

    const aws = awsConfig();
    const shell = {
      AWS_REGION: aws.region,
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
      BUILDS_TABLE: env.table,
      CONTEXTS_BUCKET: env.bucket,
    };
    const json = await dropbuild(["builds", "list", "--repository", "team/api", "--json"], shell);
    const table = await dropbuild(["builds", "list", "--repository", "team/api"], shell);

    expect(json.code, json.stderr).toBe(0);
    const [build] = (JSON.parse(json.stdout) as { builds: BuildRecord[] }).builds;
    expect(build).toMatchObject({ status: "REJECTED", repository: "team/api", source: { key } });
    expect(build?.reason).toMatch(/tag "with space" is not a valid/);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain(`REJECTED  ${key}`);
    expect(table.stdout).toMatch(/\n\s+.*tag "with space" is not a valid/);
  });
});
