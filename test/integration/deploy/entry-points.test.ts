import type { APIGatewayProxyEventV2, Context, ScheduledEvent } from "aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import type { BuildRecord } from "../../../src/build/record.js";
import { eventually } from "../../support/bed.js";
import { deployOnBed } from "../../support/deployment.js";
import { gzip, sampleContext } from "../../support/tar.js";

type Deployment = Awaited<ReturnType<typeof deployOnBed>>;

/**
 * The Lambda entry points exactly as deployed (functions/*.ts): each reads
 * its configuration from the environment and its credentials from the
 * default chain when its module loads, as in a Lambda container.
 */
describe("the Lambda entry points, as deployed", () => {
  let env: Deployment;
  let entries: {
    trigger: typeof import("../../../functions/trigger.js");
    reconcile: typeof import("../../../functions/reconcile.js");
    api: typeof import("../../../functions/api.js");
    nightly: typeof import("../../../functions/nightly.js");
  };

  beforeAll(async () => {
    env = await deployOnBed({ env: { BUILD_TTL_SECONDS: "60" } });
    // What Lambda gives a function: its configuration, and its role's credentials in the environment.
    Object.assign(process.env, env.environment, {
      AWS_ACCESS_KEY_ID: env.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: env.credentials.secretAccessKey,
    });
    entries = {
      trigger: await import("../../../functions/trigger.js"),
      reconcile: await import("../../../functions/reconcile.js"),
      api: await import("../../../functions/api.js"),
      nightly: await import("../../../functions/nightly.js"),
    };
  });

  it("an upload goes through the trigger, the reconciler and the API entry points to a recorded success", async () => {
    await env.upload("contexts/entries/app/1.tar.gz", gzip(sampleContext()), {
      "build-args": JSON.stringify({ DROPBUILD_SIMULATE_DURATION_MS: "100" }),
    });
    const [event] = await env.notifications(1);
    if (!event) throw new Error("no S3 notification");

    const triggered = await entries.trigger.handler(event);
    expect(triggered.results).toMatchObject([{ outcome: "submitted", job: "created" }]);
    const id = triggered.results[0]?.id ?? "";

    const context = { getRemainingTimeInMillis: () => 60_000 } as Context;
    const record = await eventually("the reconcile entry to record the outcome", async () => {
      await entries.reconcile.handler({} as ScheduledEvent, context);
      const stored = await env.deps.store.get(id);
      return stored?.status === "SUCCEEDED" ? stored : undefined;
    });
    expect(record.digest).toMatch(/^sha256:/);

    const answer = await entries.api.handler({
      rawPath: `/builds/${id}`,
      requestContext: { http: { method: "GET" } },
    } as APIGatewayProxyEventV2);
    expect(answer.statusCode).toBe(200);
    expect((JSON.parse(answer.body ?? "{}") as BuildRecord).status).toBe("SUCCEEDED");
  });

  it("the nightly entry refuses a malformed rebuild event with its reason", async () => {
    const result = await entries.nightly.handler({ source: "dropbuild.rebuild", detail: {} });
    expect(result).toMatchObject({ outcome: "invalid-event", reason: expect.stringMatching(/detail\.repository/) });
  });
});
