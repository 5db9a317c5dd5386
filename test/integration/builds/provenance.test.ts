// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile variables, written as a Dockerfile has them
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import type { RealNodeInfo } from "../../../bed/node/node.js";
import { craneIn, registryDigest } from "../../../bed/node/registry-client.js";
import { buildIdFor } from "../../../src/build/identity.js";
import type { BuildRecord } from "../../../src/build/record.js";
import { LABELS, WARMER_MANAGER } from "../../../src/kube/job.js";
import { createLogger } from "../../../src/log.js";
import { S3ContextCatalog } from "../../../src/rebuild/catalog.js";
import { createRebuildHandler } from "../../../src/rebuild/handler.js";
import type { NightlyReport } from "../../../src/rebuild/rebuild.js";
import { createTriggerHandler } from "../../../src/trigger/handler.js";
import { admin, bed, eventually } from "../../support/bed.js";
import { reconcileUntil, submitContext } from "../../support/builds.js";
import { deployOnBed } from "../../support/deployment.js";
import { lacks } from "../../support/needs.js";
import { queryByRepository } from "../../support/records.js";
import { gzip, tarArchive } from "../../support/tar.js";

/**
 * Provenance on the bed's real node and registry: what went in (the
 * context's and Dockerfile's hashes, each stage's base image by the digest
 * it was pinned to before the build) and what came out (each destination's
 * digest), every digest checked against what the registry itself serves.
 */
const finished = (r: BuildRecord) => ["SUCCEEDED", "FAILED", "CANCELLED", "REJECTED"].includes(r.status);
const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

type Deployment = Awaited<ReturnType<typeof deployOnBed>>;

function context(files: Record<string, string>): Buffer {
  return gzip(tarArchive(Object.entries(files).map(([path, body]) => ({ path, body }))));
}

const withoutNode = lacks("real-node", "provenance needs kaniko builds on the bed's node and registry");

describe.skipIf(withoutNode)("provenance of real builds", () => {
  let env: Deployment;
  let node: RealNodeInfo;
  const repo = (name: string) => `prov/${name}-${process.pid}`;

  beforeAll(async () => {
    const info = bed().node;
    if (!info) throw new Error("the bed has no real node");
    node = info;
    env = await deployOnBed({ real: true, env: { BUILD_BACKOFF_LIMIT: "1" } });
  });

  it("records the hashes, each stage's pinned base and each destination's digest, as the registry serves them", async () => {
    const repository = repo("multi");
    const dockerfile = [
      "ARG BASE=busybox",
      "FROM ${BASE}:1.35 AS build",
      "RUN echo built > /out.txt",
      "FROM build AS test",
      'RUN test "$(cat /out.txt)" = built',
      "FROM scratch",
      "COPY --from=build /out.txt /out.txt",
      "",
    ].join("\n");
    const uploaded = context({ Dockerfile: dockerfile });
    const id = await submitContext(env, `contexts/${repository}/1.0.tar.gz`, uploaded, { "extra-tags": "latest" });
    const queued = await env.deps.store.get(id);
    expect(queued?.pinnedDockerfile).toMatch(/^FROM busybox:1\.35@sha256:[0-9a-f]{64} AS build$/m);

    const { record } = await reconcileUntil(env, id, finished, 180_000);
    expect(record.status, record.reason).toBe("SUCCEEDED");
    const baseDigest = await registryDigest(node, "library/busybox:1.35");
    expect(baseDigest).toMatch(/^sha256:/);
    const host = node.registry.host;
    expect(record.provenance).toEqual({
      contextSha256: sha256(uploaded),
      dockerfileSha256: sha256(dockerfile),
      stages: [
        {
          stage: 0,
          name: "build",
          reference: "${BASE}:1.35",
          kind: "image",
          image: "docker.io/library/busybox:1.35",
          pulledFrom: `${host}/library/busybox:1.35`,
          digest: baseDigest,
        },
        { stage: 1, name: "test", reference: "build", kind: "stage" },
        { stage: 2, reference: "scratch", kind: "scratch" },
      ],
      outputs: [
        { destination: `${host}/${repository}:1.0`, digest: await registryDigest(node, `${repository}:1.0`) },
        { destination: `${host}/${repository}:latest`, digest: await registryDigest(node, `${repository}:latest`) },
      ],
    });
    expect(record.provenance?.outputs?.[0]?.digest).toBe(record.digest);
    // Its cost: the bed's requests (250m, 256Mi) for as long as the pod ran.
    expect(record.requests).toEqual({ cpu: "250m", memory: "256Mi" });
    expect(record.durationSeconds).toBeGreaterThan(0);
    expect(record.cost).toMatchObject({
      vcpuSeconds: Math.round(0.25 * (record.durationSeconds ?? 0) * 1000) / 1000,
      gibSeconds: Math.round(0.25 * (record.durationSeconds ?? 0) * 1000) / 1000,
      currency: "USD",
    });
    expect(record.cost?.estimate).toBeGreaterThan(0);
    // kaniko built from the pinned reference: it asked for the digest, not the tag.
    const logs = await env.reconcileDeps.logs.get(id);
    expect(logs).toContain(`busybox:1.35@${baseDigest}`);

    // The outcome event carries the same provenance, without the pinned Dockerfile's text.
    const [event] = await env.outcomeEvents(1, 20_000, (e) => e.detail.id === id);
    expect(event?.detail.provenance).toEqual(record.provenance);
    expect(event?.detail).not.toHaveProperty("pinnedDockerfile");
  });

  it("rejects an upload whose base image the registry does not have, naming it", async () => {
    const id = await submitContext(
      env,
      `contexts/${repo("missing")}/1.0.tar.gz`,
      context({ Dockerfile: `FROM busybox:1.35 AS ok\nFROM nosuchbase-${process.pid}:2\n` }),
    );
    const record = await env.deps.store.get(id);
    expect(record?.status).toBe("REJECTED");
    expect(record?.reason).toBe(
      `the base image nosuchbase-${process.pid}:2 of stage 1 does not exist in its registry (asked at ${node.registry.host}/library/nosuchbase-${process.pid}:2)`,
    );
  });

  it("refuses a base image from a registry the deployment does not pull from, without asking it", async () => {
    const id = await submitContext(
      env,
      `contexts/${repo("elsewhere")}/1.0.tar.gz`,
      context({ Dockerfile: "FROM public.ecr.aws/docker/library/alpine:3.20\n" }),
    );
    const record = await env.deps.store.get(id);
    expect(record?.status).toBe("REJECTED");
    expect(record?.reason).toBe(
      `the base image public.ecr.aws/docker/library/alpine:3.20 of stage 0: public.ecr.aws is not a registry this deployment pulls from (BASE_IMAGE_REGISTRIES, REGISTRY, KANIKO_REGISTRY_MIRROR: ${node.registry.host})`,
    );
  });

  it("builds from the digest resolved at upload time, even when the tag moves before the build runs", async () => {
    const base = `library/prov-moving-${process.pid}`;
    const tagged = `${node.registry.host}/${base}:1`;
    await craneIn(node, (crane) => crane(["copy", `${node.registry.host}/library/busybox:1.35`, tagged]));
    const before = await registryDigest(node, `${base}:1`);
    // The tag moves after the trigger pinned it: the build must still use the digest recorded.
    const repository = repo("moving");
    const id = await submitContext(
      env,
      `contexts/${repository}/1.0.tar.gz`,
      context({ Dockerfile: `FROM prov-moving-${process.pid}:1\nRUN echo ok\n` }),
    );
    await craneIn(node, (crane) => crane(["mutate", tagged, "--label", "moved=yes", "--tag", tagged]));
    const after = await registryDigest(node, `${base}:1`);
    expect(after).not.toBe(before);
    const { record } = await reconcileUntil(env, id, finished, 180_000);
    expect(record.status, record.reason).toBe("SUCCEEDED");
    expect(record.provenance?.stages[0]?.digest).toBe(before);
    const logs = await env.reconcileDeps.logs.get(id);
    expect(logs).toContain(`@${before}`);
  });
});

describe.skipIf(withoutNode)("nightly rebuilds of real builds: only what changed", () => {
  let env: Deployment;
  let node: RealNodeInfo;
  const logger = createLogger("test");

  beforeAll(async () => {
    const info = bed().node;
    if (!info) throw new Error("the bed has no real node");
    node = info;
    env = await deployOnBed({ real: true, env: { BUILD_BACKOFF_LIMIT: "1", NIGHTLY_REBUILD: "changed" } });
  });

  /** Upload a context opted into nightly rebuilds and run the trigger on its notification. */
  async function submitNightly(key: string, dockerfile: string): Promise<string> {
    await env.s3.send(
      new PutObjectCommand({
        Bucket: env.bucket,
        Key: key,
        Body: context({ Dockerfile: dockerfile }),
        Tagging: "dropbuild-nightly=true",
      }),
    );
    const [event] = await env.notifications(1);
    if (!event) throw new Error("no S3 notification");
    await createTriggerHandler(env.deps, logger)(event);
    const s3 = event.Records[0]?.s3;
    return buildIdFor({ bucket: env.bucket, key, versionId: s3?.object.versionId, etag: s3?.object.eTag });
  }

  it("rebuilds the contexts whose base moved, with the new digest, and records the others SKIPPED", async () => {
    const host = node.registry.host;
    const moving = `prov-base-${process.pid}`;
    const steady = `prov-steady-${process.pid}`;
    await craneIn(node, async (crane) => {
      await crane(["copy", `${host}/library/busybox:1.35`, `${host}/library/${moving}:1`]);
      await crane(["copy", `${host}/library/busybox:1.35`, `${host}/library/${steady}:1`]);
    });
    const first = await registryDigest(node, `library/${moving}:1`);
    const repos = { a: `nightly/a-${process.pid}`, b: `nightly/b-${process.pid}`, c: `nightly/c-${process.pid}` };
    const ids = [
      await submitNightly(`contexts/${repos.a}/1.tar.gz`, `FROM ${moving}:1\nRUN echo a > /a\n`),
      await submitNightly(`contexts/${repos.b}/1.tar.gz`, `FROM ${moving}:1 AS base\nFROM base\nRUN echo b > /b\n`),
      await submitNightly(`contexts/${repos.c}/1.tar.gz`, `FROM ${steady}:1\nRUN echo c > /c\n`),
    ];
    for (const id of ids) {
      const { record } = await reconcileUntil(env, id, finished, 180_000);
      expect(record.status, record.reason).toBe("SUCCEEDED");
    }

    // A new image is pushed to the base tag the first two build from.
    await craneIn(node, (crane) =>
      crane(["mutate", `${host}/library/${moving}:1`, "--label", "rebuilt=1", "--tag", `${host}/library/${moving}:1`]),
    );
    const second = await registryDigest(node, `library/${moving}:1`);
    expect(second).not.toBe(first);

    const handle = createRebuildHandler(
      {
        catalog: new S3ContextCatalog(env.s3, env.bucket),
        submit: env.deps,
        queries: env.store,
        policy: env.config.nightlyRebuild,
        nightlyRepositories: [],
        nightlyTagFormat: env.config.nightlyTagFormat,
      },
      logger,
    );
    const night = { source: "aws.events", "detail-type": "Scheduled Event", time: "2026-12-03T03:00:00Z" };
    const report = (await handle(night)) as NightlyReport;
    const outcomes = Object.fromEntries(report.submitted.map((s) => [s.id, s.outcome]));
    const nightly = async (repository: string) =>
      (await queryByRepository(env.config, repository)).find((r) => r.trigger === "nightly");
    const [a, b, c] = [await nightly(repos.a), await nightly(repos.b), await nightly(repos.c)];
    if (!a || !b || !c) throw new Error("every opted-in context has a nightly record");
    expect(outcomes).toEqual({ [a.id]: "submitted", [b.id]: "submitted", [c.id]: "unchanged" });

    expect(c.status).toBe("SKIPPED");
    expect(c.reason).toBe(`inputs unchanged: the same context version and base image digests as build ${ids[2]}`);
    expect(c.unchangedSince).toBe(ids[2]);
    expect(c.provenance?.stages[0]?.digest).toBe(await registryDigest(node, `library/${steady}:1`));
    expect(c.digest).toBe(await registryDigest(node, `${repos.c}:1`));
    const listed = await env.store.query({ status: "SKIPPED", repository: repos.c });
    expect(listed.records.map((r) => r.id)).toEqual([c.id]);

    for (const rebuilt of [a, b]) {
      const { record } = await reconcileUntil(env, rebuilt.id, finished, 180_000);
      expect(record.status, record.reason).toBe("SUCCEEDED");
      expect(record.provenance?.stages[0]?.digest).toBe(second);
      for (const output of record.provenance?.outputs ?? []) {
        const [, repository = "", tag = ""] = /^[^/]+\/(.+):([^:]+)$/.exec(output.destination) ?? [];
        expect(output.digest).toBe(await registryDigest(node, `${repository}:${tag}`));
      }
      expect(record.provenance?.outputs).toHaveLength(2);
    }

    // The same night again: nothing more is built or skipped twice.
    const again = (await handle(night)) as NightlyReport;
    expect(again.submitted.map((s) => s.outcome).sort()).toEqual(["duplicate", "duplicate", "unchanged"]);
    expect((await queryByRepository(env.config, repos.c)).filter((r) => r.status === "SKIPPED")).toHaveLength(1);
  });
});

describe.skipIf(withoutNode)("the shared base-image cache on the workspace", () => {
  let env: Deployment;
  let node: RealNodeInfo;

  beforeAll(async () => {
    const info = bed().node;
    if (!info) throw new Error("the bed has no real node");
    node = info;
    env = await deployOnBed({ real: true, env: { BUILD_BACKOFF_LIMIT: "1", BASE_IMAGE_CACHE: "true" } });
  });

  /** The registry's requests for the base's layers (blob GETs) logged after `from` bytes of its log. */
  const blobPulls = (base: string, from: number) =>
    readFileSync(node.logs.registry ?? "", "utf8")
      .slice(from)
      .split("\n")
      .filter((line) => line.includes(`/v2/library/${base}/blobs/`) && /method=GET|"GET /.test(line));
  const logSize = () => statSync(node.logs.registry ?? "").size;
  const warmerSelector = `${LABELS.managedBy}=${WARMER_MANAGER}`;

  /** Build a context FROM `base` to success; its id and record, and the registry log's size when it was uploaded. */
  const buildOn = async (base: string, name: string) => {
    const logFrom = logSize();
    const id = await submitContext(
      env,
      `contexts/cache/${name}-${process.pid}/1.tar.gz`,
      context({ Dockerfile: `FROM ${base}:1\nRUN echo ${name} > /${name}\n` }),
    );
    const { record } = await reconcileUntil(env, id, finished, 180_000);
    expect(record.status, record.reason).toBe("SUCCEEDED");
    return { id, record, logFrom };
  };

  it("warms a succeeded build's base into the workspace, and the next build on it pulls no base layer", async () => {
    const base = `cache-base-${process.pid}`;
    const host = node.registry.host;
    await craneIn(node, (crane) => crane(["copy", `${host}/library/busybox:1.35`, `${host}/library/${base}:1`]));

    const cold = await buildOn(base, "one");
    expect(blobPulls(base, cold.logFrom).length, "the first build pulls the base from the registry").toBeGreaterThan(0);

    // The reconciler asked for the base to be warmed: a warmer Job, which completes.
    const { batch, core } = admin();
    const warmerState = async () => {
      const pods = await core.listNamespacedPod({
        namespace: "dropbuild",
        labelSelector: warmerSelector,
      });
      const logs = await Promise.all(
        pods.items.map((p) =>
          core
            .readNamespacedPodLog({ name: p.metadata?.name ?? "", namespace: "dropbuild" })
            .catch((e: unknown) => String(e)),
        ),
      );
      return JSON.stringify({ pods: pods.items.map((p) => [p.metadata?.name, p.status?.phase]), logs }).slice(0, 4000);
    };
    await eventually(
      "the warmer Job complete",
      async () => {
        const jobs = await batch.listNamespacedJob({
          namespace: "dropbuild",
          labelSelector: warmerSelector,
        });
        return jobs.items.find(
          (j) => j.spec?.template.spec?.containers[0]?.args?.some((a) => a.includes(base)) && j.status?.succeeded,
        );
      },
      60_000,
    ).catch(async (error: unknown) => {
      throw new Error(`${String(error)}; warmer: ${await warmerState()}`);
    });

    const warm = await buildOn(base, "two");
    expect(blobPulls(base, warm.logFrom), "the second build reads the base from the workspace").toEqual([]);
    const digest = warm.record.provenance?.stages[0]?.digest ?? "";
    expect(await env.reconcileDeps.logs.get(warm.id)).toContain(`Found ${digest} in local cache`);
  });
});
