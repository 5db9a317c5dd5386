import { BatchV1Api, type V1Job } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { KubernetesBuildCluster } from "../../../src/kube/cluster.js";
import { createLogger } from "../../../src/log.js";
import { createTriggerHandler } from "../../../src/trigger/handler.js";
import { makeConnector } from "../../../src/wiring.js";
import { admin, bed, eventually, tokenKubeConfig } from "../../support/bed.js";
import { deployOnBed, REGISTRY } from "../../support/deployment.js";
import { lacks } from "../../support/needs.js";
import { queryByRepository } from "../../support/records.js";
import { gzip, sampleContext } from "../../support/tar.js";

const logger = createLogger("trigger-test");

async function jobsFor(buildId: string): Promise<V1Job[]> {
  const { batch } = admin();
  const list = await batch.listNamespacedJob({
    namespace: "dropbuild",
    labelSelector: `dropbuild.dev/build-id=${buildId}`,
  });
  return list.items;
}

const withoutEks = lacks("emulated-eks", "moto's EKS cluster and an IAM token");

describe("trigger: an S3 upload becomes a validated build and a kaniko Job", () => {
  let env: Awaited<ReturnType<typeof deployOnBed>>;
  let handler: ReturnType<typeof createTriggerHandler>;

  beforeAll(async () => {
    env = await deployOnBed();
    handler = createTriggerHandler(env.deps, logger);
  });

  it("records a QUEUED build and creates a Job that the cluster runs to completion", async () => {
    // Prepare
    const uploaded = await env.upload("contexts/team/web app/v1.0.tar.gz".replace(" ", "-"), gzip(sampleContext()), {
      "build-args": JSON.stringify({ VERSION: "1.0" }),
      "extra-tags": "latest",
    });

    // Act: the real S3 notification, delivered to the handler
    const events = await env.notifications(1);
    for (const event of events) await handler(event);

    // Assess: one record...
    const [record] = await queryByRepository(env.config, "team/web-app");
    expect(record).toMatchObject({
      status: "QUEUED",
      repository: "team/web-app",
      tag: "v1.0",
      trigger: "upload",
      destinations: [`${REGISTRY}/team/web-app:v1.0`, `${REGISTRY}/team/web-app:latest`],
      source: { bucket: env.bucket, key: "contexts/team/web-app/v1.0.tar.gz", versionId: uploaded.VersionId },
      buildArgs: { VERSION: "1.0" },
      namespace: "dropbuild",
    });
    const id = record?.id ?? "";
    // ...and one Job, made with the functions' EKS token and allowed by infra/k8s RBAC
    const [job] = await jobsFor(id);
    expect(job?.metadata?.name).toBe(`dropbuild-${id}`);
    expect(job?.metadata?.finalizers).toEqual(["dropbuild.dev/record"]);
    expect(job?.metadata?.annotations?.["dropbuild.dev/source-version"]).toBe(uploaded.VersionId);
    const kaniko = job?.spec?.template.spec?.containers[0];
    expect(kaniko?.args).toContain(`--destination=${REGISTRY}/team/web-app:latest`);
    expect(kaniko?.args).toContain("--build-arg=VERSION=1.0");
    expect(kaniko?.securityContext?.privileged).toBeUndefined();

    const { batch } = admin();
    const complete = await eventually("the Job to complete", async () => {
      const current = await batch.readNamespacedJob({ name: `dropbuild-${id}`, namespace: "dropbuild" });
      return current.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True")
        ? current
        : undefined;
    });
    expect(complete.status?.succeeded).toBe(1);
  });

  it("builds once when the same S3 event is delivered five times", async () => {
    await env.upload("contexts/dup/app/2.tgz", gzip(sampleContext()));
    const [event] = await env.notifications(1);
    if (!event) throw new Error("no notification arrived");

    for (let i = 0; i < 5; i += 1) await handler(event);

    const records = await queryByRepository(env.config, "dup/app");
    expect(records).toHaveLength(1);
    expect(await jobsFor(records[0]?.id ?? "")).toHaveLength(1);
  });

  it("decodes keys with spaces, plus signs and unicode as S3 encodes them", async () => {
    // S3 writes a space in an event key as "+", and a literal "+" as "%2B".
    await env.upload("contexts/uni/café/x+y z.tar.gz", gzip(sampleContext()));
    const events = await env.notifications(1);
    for (const event of events) await handler(event);

    const rejected = await queryByRepository(env.config, "-");
    const mine = rejected.find((r) => r?.source.key === "contexts/uni/café/x+y z.tar.gz");
    expect(mine?.status).toBe("REJECTED");
    expect(mine?.reason).toMatch(/repository "uni\/café" is not a valid image name/);
  });

  it("fails the invocation when the cluster is unreachable, without a false record, and builds on retry", async () => {
    // Prepare: the same deployment, but its cluster address answers nothing.
    const unreachable = { server: "https://127.0.0.1:9", token: "t", insecureSkipTLSVerify: true };
    const broken = createTriggerHandler(
      { ...env.deps, cluster: new KubernetesBuildCluster(async () => unreachable) },
      logger,
    );
    await env.upload("contexts/outage/app/1.tar.gz", gzip(sampleContext()));
    const [event] = await env.notifications(1);
    if (!event) throw new Error("no notification arrived");

    // Act
    await expect(broken(event)).rejects.toThrow(/could not create Job/);

    // Assess: the build is still only QUEUED, with no Job; the retry creates exactly one.
    const [queued] = await queryByRepository(env.config, "outage/app");
    expect(queued?.status).toBe("QUEUED");
    expect(await jobsFor(queued?.id ?? "")).toHaveLength(0);
    await handler(event);
    expect(await jobsFor(queued?.id ?? "")).toHaveLength(1);
    expect(await queryByRepository(env.config, "outage/app")).toHaveLength(1);
  });

  it.skipIf(withoutEks)("authenticates to the cluster with the functions' IAM role only", async () => {
    // The deployment's connector describes the EKS cluster and presigns STS; prove it reaches the real API server.
    const identity = bed().identities.functions;
    const connection = await makeConnector(env.config, {
      accessKeyId: identity?.accessKeyId ?? "",
      secretAccessKey: identity?.secretAccessKey ?? "",
    })();
    expect(connection.server).toBe(bed().cluster.endpoint);
    expect(connection.token).toMatch(/^k8s-aws-v1\./);
    const jobs = await tokenKubeConfig(connection.token ?? "")
      .makeApiClient(BatchV1Api)
      .listNamespacedJob({ namespace: "dropbuild" });
    expect(Array.isArray(jobs.items)).toBe(true);
  });
});
