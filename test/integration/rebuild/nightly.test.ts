import { EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from "@aws-sdk/client-eventbridge";
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import type { BuildRecord } from "../../../src/build/record.js";
import type { Logger } from "../../../src/log.js";
import { S3ContextCatalog } from "../../../src/rebuild/catalog.js";
import { createRebuildHandler, REBUILD_SOURCE } from "../../../src/rebuild/handler.js";
import type { NightlyReport } from "../../../src/rebuild/rebuild.js";
import { awsConfig, uniqueName } from "../../support/bed.js";
import { deployOnBed, REGISTRY } from "../../support/deployment.js";
import { queryByRepository } from "../../support/records.js";
import { gzip, sampleContext } from "../../support/tar.js";

const NIGHT = "2026-11-24T03:00:00Z";

function recordingLogger(lines: string[]): Logger {
  const log =
    (level: string) =>
    (message: string, ...extra: unknown[]) =>
      lines.push(`${level} ${message} ${JSON.stringify(extra)}`);
  return { info: log("INFO"), warn: log("WARN"), error: log("ERROR"), appendKeys: () => {}, removeKeys: () => {} };
}

describe("rebuilds: nightly and on request", () => {
  let env: Awaited<ReturnType<typeof deployOnBed>>;
  let handle: ReturnType<typeof createRebuildHandler>;
  /** The nightly schedule firing for NIGHT, as an EventBridge schedule delivers it. */
  const scheduledRun = async () =>
    (await handle({ source: "aws.events", "detail-type": "Scheduled Event", time: NIGHT })) as NightlyReport;
  const logs: string[] = [];
  const records = async (repository: string, trigger: string) =>
    (await queryByRepository(env.config, repository)).filter((r: BuildRecord) => r.trigger === trigger);

  beforeAll(async () => {
    env = await deployOnBed({ env: { NIGHTLY_REPOSITORIES: "listed/app,gone/app" } });
    const s3 = env.s3;
    const put = (key: string, tagging?: string) =>
      s3.send(new PutObjectCommand({ Bucket: env.bucket, Key: key, Body: gzip(sampleContext()), Tagging: tagging }));
    await put("contexts/tagged/app/1.0.tar.gz", "dropbuild-nightly=true");
    await put("contexts/listed/app/2.0.tar.gz");
    await put("contexts/plain/app/3.0.tar.gz");
    await put("contexts/gone/app/4.0.tar.gz", "dropbuild-nightly=true");
    await s3.send(new DeleteObjectCommand({ Bucket: env.bucket, Key: "contexts/gone/app/4.0.tar.gz" }));
    handle = createRebuildHandler(
      {
        catalog: new S3ContextCatalog(env.s3, env.bucket),
        submit: env.deps,
        queries: env.store,
        policy: env.config.nightlyRebuild,
        nightlyRepositories: env.config.nightlyRepositories,
        nightlyTagFormat: env.config.nightlyTagFormat,
      },
      recordingLogger(logs),
    );
  });

  it("re-submits exactly the opted-in repositories, with the tag again plus a dated tag", async () => {
    const report = await scheduledRun();

    expect(report.submitted.map((s) => s.outcome)).toEqual(["submitted", "submitted"]);
    const [tagged] = await records("tagged/app", "nightly");
    const [listed] = await records("listed/app", "nightly");
    expect(tagged?.destinations).toEqual([`${REGISTRY}/tagged/app:1.0`, `${REGISTRY}/tagged/app:1.0-nightly-20261124`]);
    expect(listed?.destinations).toEqual([`${REGISTRY}/listed/app:2.0`, `${REGISTRY}/listed/app:2.0-nightly-20261124`]);
    expect(await records("plain/app", "nightly")).toEqual([]);
  });

  it("skips a repository whose newest context was deleted, with the reason logged", async () => {
    expect(await records("gone/app", "nightly")).toEqual([]);
    expect(logs.join("\n")).toMatch(
      /WARN nightly rebuild skipped .*"repository":"gone\/app","reason":"its newest context contexts\/gone\/app\/4\.0\.tar\.gz was deleted"/,
    );
  });

  it("builds once when the same night's schedule fires twice", async () => {
    const again = await scheduledRun();

    expect(again.submitted.map((s) => s.outcome)).toEqual(["duplicate", "duplicate"]);
    expect(await records("tagged/app", "nightly")).toHaveLength(1);
    expect(await records("listed/app", "nightly")).toHaveLength(1);
  });

  it("rebuilds on a dropbuild.rebuild event delivered by a real EventBridge rule, once per day", async () => {
    const events = new EventBridgeClient(awsConfig());
    const sqs = new SQSClient(awsConfig());
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniqueName("rebuilds") }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["QueueArn"] }));
    const rule = uniqueName("rebuild");
    await events.send(
      new PutRuleCommand({
        Name: rule,
        EventBusName: env.config.eventBusName,
        EventPattern: JSON.stringify({ source: [REBUILD_SOURCE] }),
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: rule,
        EventBusName: env.config.eventBusName,
        Targets: [{ Id: "q", Arn: Attributes?.QueueArn }],
      }),
    );

    await events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: REBUILD_SOURCE,
            DetailType: "Rebuild Requested",
            Detail: JSON.stringify({ repository: "plain/app" }),
            EventBusName: env.config.eventBusName,
          },
        ],
      }),
    );
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
    const delivered = JSON.parse(Messages?.[0]?.Body ?? "{}");
    const first = await handle(delivered);
    const second = await handle(delivered);

    expect(first).toMatchObject({ outcome: "submitted" });
    expect(second).toMatchObject({ outcome: "duplicate" });
    const rebuilt = await records("plain/app", "event");
    expect(rebuilt).toHaveLength(1);
    expect(rebuilt[0]?.tag).toBe("3.0");
  });

  it("answers a rebuild event for an unknown repository or a malformed event with a reason", async () => {
    expect(await handle({ source: REBUILD_SOURCE, time: NIGHT, detail: { repository: "nope/app" } })).toEqual({
      outcome: "not-found",
      reason: "no context for nope/app in the bucket",
    });
    expect(await handle({ source: REBUILD_SOURCE, detail: {} })).toMatchObject({
      outcome: "invalid-event",
      reason: expect.stringMatching(/detail\.repository/),
    });
  });
});
