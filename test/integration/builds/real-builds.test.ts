import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { RealNodeInfo } from "../../../bed/node/node.js";
import { registryDigest, registryTags } from "../../../bed/node/registry-client.js";
import { buildIdFor } from "../../../src/build/identity.js";
import type { BuildRecord } from "../../../src/build/record.js";
import { cancelBuild } from "../../../src/builds/cancel.js";
import { createLogger } from "../../../src/log.js";
import { reconcile } from "../../../src/reconcile/reconcile.js";
import { submitDirectory } from "../../../src/submit/submit.js";
import { createTriggerHandler } from "../../../src/trigger/handler.js";
import { admin, bed, eventually } from "../../support/bed.js";
import { reconcileUntil } from "../../support/builds.js";
import { deployOnBed } from "../../support/deployment.js";
import { kubernetesFaultProxy, throughProxies } from "../../support/faults.js";
import { lacks } from "../../support/needs.js";
import { gzip, tarArchive } from "../../support/tar.js";

/**
 * Real builds on the bed's node: the Job production renders, run by kubelet
 * and containerd, the context fetched by the aws CLI with an injected web
 * identity, kaniko building and pushing to the bed registry (TLS, htpasswd).
 * Every test asserts on what the registry holds, asked with a registry client.
 */
const finished = (r: BuildRecord) => ["SUCCEEDED", "FAILED", "CANCELLED"].includes(r.status);
const logger = createLogger("test");

type Deployment = Awaited<ReturnType<typeof deployOnBed>>;

function context(files: Record<string, string>): Buffer {
  return gzip(
    tarArchive([
      { path: "./", type: "Directory" },
      ...Object.entries(files).map(([path, body]) => ({ path: `./${path}`, body })),
    ]),
  );
}

async function submit(env: Deployment, key: string, body: Buffer, metadata?: Record<string, string>): Promise<string> {
  await env.upload(key, body, metadata);
  const [event] = await env.notifications(1);
  if (!event) throw new Error("no S3 notification");
  await createTriggerHandler(env.deps, logger)(event);
  const s3 = event.Records[0]?.s3;
  return buildIdFor({
    bucket: s3?.bucket.name ?? "",
    key: decodeURIComponent((s3?.object.key ?? "").replaceAll("+", " ")),
    versionId: s3?.object.versionId,
    etag: s3?.object.eTag,
  });
}

/** The pods of one build, as the API server lists them. */
async function buildPods(id: string) {
  const { core } = admin();
  return (await core.listNamespacedPod({ namespace: "dropbuild", labelSelector: `dropbuild.dev/build-id=${id}` }))
    .items;
}

async function runningPod(id: string) {
  return eventually(
    "the kaniko container running",
    async () =>
      (await buildPods(id)).find((p) =>
        p.status?.containerStatuses?.some((c) => c.name === "kaniko" && c.state?.running),
      ),
    90_000,
  );
}

const withoutNode = lacks("real-node", "kaniko builds on the bed's node and registry");

describe.skipIf(withoutNode)("real builds on the bed's node", () => {
  let env: Deployment;
  let node: RealNodeInfo;
  const repo = (name: string) => `real/${name}-${process.pid}`;

  beforeAll(async () => {
    const info = bed().node;
    if (!info) throw new Error("the bed has no real node");
    node = info;
    env = await deployOnBed({ real: true, env: { BUILD_BACKOFF_LIMIT: "1" } });
  });

  it("builds and pushes a context; the registry serves the recorded digest; the logs are kaniko's", async () => {
    const repository = repo("hello");
    const uploaded = context({
      Dockerfile: "FROM busybox:1.35\nCOPY app.txt /app.txt\nRUN cat /app.txt\n",
      "app.txt": "hello\n",
    });
    const id = await submit(env, `contexts/${repository}/1.0.tar.gz`, uploaded);
    const { record } = await reconcileUntil(env, id, finished, 180_000);
    expect(record.status).toBe("SUCCEEDED");
    expect(record.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await registryDigest(node, `${repository}:1.0`)).toBe(record.digest);
    // The fetch step had no keys of its own: the IRSA stand-in gave it a role and a projected token.
    const [pod] = await buildPods(id);
    expect(pod?.spec?.nodeName, "real builds run on the real node, never on kwok's").toBe(node.name);
    const fetchEnv = pod?.spec?.initContainers?.find((c) => c.name === "fetch-context")?.env ?? [];
    expect(fetchEnv.map((e) => e.name)).toEqual(
      expect.arrayContaining(["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"]),
    );
    expect(fetchEnv.map((e) => e.name)).not.toContain("AWS_ACCESS_KEY_ID");
    expect(pod?.spec?.volumes?.some((v) => v.projected?.sources?.some((src) => src.serviceAccountToken))).toBe(true);
    // The context was really staged on the workspace volume (the EFS stand-in), where kaniko unpacked it from.
    expect(pod?.spec?.initContainers?.map((c) => c.name)).toEqual(["fetch-context"]);
    const staged = join(bed().stateDir, "workspace", "builds", id, "context.tar.gz");
    expect(readFileSync(staged)).toEqual(uploaded);
    const logs = await env.reconcileDeps.logs.get(id);
    expect(logs).toMatch(/Retrieving image manifest busybox:1\.35/);
    expect(logs).toMatch(/Pushing image to .*real\/hello/);
  });

  it("builds a plain .tar context, which the busybox step unpacks on the workspace (kaniko's tar:// reads gzip only)", async () => {
    const repository = repo("plain");
    const files = { Dockerfile: 'FROM busybox:1.35\nCOPY app.txt /app.txt\nRUN test "$(cat /app.txt)" = plain\n' };
    const id = await submit(
      env,
      `contexts/${repository}/1.0.tar`,
      tarArchive([
        { path: "./", type: "Directory" },
        ...Object.entries({ ...files, "app.txt": "plain\n" }).map(([path, body]) => ({ path: `./${path}`, body })),
      ]),
    );
    const { record } = await reconcileUntil(env, id, finished, 180_000);
    expect(record.status, record.reason).toBe("SUCCEEDED");
    expect(await registryDigest(node, `${repository}:1.0`)).toBe(record.digest);
    const [pod] = await buildPods(id);
    expect(pod?.spec?.initContainers?.map((c) => c.name)).toEqual(["fetch-context", "unpack-context"]);
    const staged = join(bed().stateDir, "workspace", "builds", id, "context");
    expect(readFileSync(join(staged, "app.txt"), "utf8")).toBe("plain\n");
  });

  it("fails a Dockerfile whose RUN exits non-zero, retried by backoffLimit, with kaniko's error as the reason", async () => {
    const repository = repo("broken");
    const id = await submit(
      env,
      `contexts/${repository}/1.0.tar.gz`,
      context({ Dockerfile: 'FROM busybox:1.35\nRUN echo "compiling..." && exit 3\n' }),
    );
    const { record } = await reconcileUntil(env, id, finished, 180_000);
    expect(record.status).toBe("FAILED");
    expect(record.attempts).toBe(2);
    expect(record.reason).toMatch(/exit 3.*exit status 3|exit status 3/s);
    expect(await registryTags(node, repository)).toEqual([]);
  });

  it("builds the target stage of a multi-stage Dockerfile with build args, from a custom Dockerfile path", async () => {
    const repository = repo("multi");
    const dockerfile = [
      "FROM busybox:1.35 AS build",
      "ARG GREETING",
      'RUN test -n "$GREETING" && echo "$GREETING" > /greeting',
      "FROM busybox:1.35 AS runtime",
      "COPY --from=build /greeting /greeting",
      "RUN grep -q '^hi from args$' /greeting",
      "FROM busybox:1.35 AS never",
      "RUN exit 9",
      "",
    ].join("\n");
    const id = await submit(
      env,
      `contexts/${repository}/2.0.tar.gz`,
      context({ "docker/build.Dockerfile": dockerfile }),
      {
        dockerfile: "docker/build.Dockerfile",
        target: "runtime",
        "build-args": JSON.stringify({ GREETING: "hi from args" }),
      },
    );
    const { record } = await reconcileUntil(env, id, finished, 180_000);
    expect(record.status).toBe("SUCCEEDED");
    expect(await registryDigest(node, `${repository}:2.0`)).toBe(record.digest);
  });

  it("leaves out what .dockerignore names when `dropbuild submit` packs a directory", async () => {
    const repository = repo("ignored");
    const dir = mkdtempSync(join(tmpdir(), "dropbuild-ignore-"));
    try {
      mkdirSync(join(dir, "notes"));
      writeFileSync(join(dir, "notes", "secret.txt"), "not for the image\n");
      writeFileSync(join(dir, "keep.txt"), "kept\n");
      writeFileSync(join(dir, ".dockerignore"), "notes/\n");
      // The build fails if the ignored directory reached the context.
      writeFileSync(
        join(dir, "Dockerfile"),
        "FROM busybox:1.35\nCOPY . /ctx\nRUN test -f /ctx/keep.txt && test ! -e /ctx/notes\n",
      );
      const submitted = await submitDirectory(dir, `${repository}:1`, {}, { s3: env.s3, bucket: env.bucket });
      const [event] = await env.notifications(1);
      if (!event) throw new Error("no S3 notification");
      await createTriggerHandler(env.deps, logger)(event);
      const { record } = await reconcileUntil(env, submitted.id, finished, 180_000);
      expect(record.status, record.reason).toBe("SUCCEEDED");
      expect(await registryDigest(node, `${repository}:1`)).toBe(record.digest);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("pushes every extra tag with one digest", async () => {
    const repository = repo("tags");
    const id = await submit(env, `contexts/${repository}/3.0.tar.gz`, context({ Dockerfile: "FROM busybox:1.35\n" }), {
      "extra-tags": "latest,stable",
    });
    const { record } = await reconcileUntil(env, id, finished, 180_000);
    expect(record.status).toBe("SUCCEEDED");
    expect((await registryTags(node, repository)).sort()).toEqual(["3.0", "latest", "stable"]);
    for (const tag of ["3.0", "latest", "stable"]) {
      expect(await registryDigest(node, `${repository}:${tag}`)).toBe(record.digest);
    }
  });

  /** A deployment with `settings`, one build of `dockerfile`: it must fail with `reason` and push nothing. */
  async function failsPushingNothing(
    name: string,
    settings: Record<string, string>,
    dockerfile: string,
    reason: RegExp,
  ) {
    const deployment = await deployOnBed({ real: true, env: { BUILD_BACKOFF_LIMIT: "0", ...settings } });
    const repository = repo(name);
    const id = await submit(deployment, `contexts/${repository}/1.tar.gz`, context({ Dockerfile: dockerfile }));
    const { record } = await reconcileUntil(deployment, id, finished, 180_000);
    expect(record.status).toBe("FAILED");
    expect(record.reason).toMatch(reason);
    expect(await registryTags(node, repository)).toEqual([]);
  }

  it("rejects at upload, with the registry's answer, when there are no registry credentials", async () => {
    // The trigger resolves base images with the builder's login before any Job exists: without one, the
    // registry's 401 is the reason, and nothing runs or is pushed.
    const deployment = await deployOnBed({ real: true, env: { REGISTRY_SECRET: "" } });
    const repository = repo("noauth");
    const id = await submit(
      deployment,
      `contexts/${repository}/1.tar.gz`,
      context({ Dockerfile: "FROM busybox:1.35\n" }),
    );
    const record = await deployment.deps.store.get(id);
    expect(record?.status).toBe("REJECTED");
    expect(record?.reason).toBe(
      `the base image busybox:1.35 of stage 0: the registry ${node.registry.host} asks for a login for ${node.registry.host}/library/busybox:1.35, and none is configured`,
    );
    expect(await buildPods(id)).toEqual([]);
    expect(await registryTags(node, repository)).toEqual([]);
  });

  it("ends a build that runs past activeDeadlineSeconds, and pushes nothing", async () => {
    await failsPushingNothing(
      "deadline",
      { BUILD_DEADLINE_SECONDS: "8" },
      "FROM busybox:1.35\nRUN sleep 120\n",
      /DeadlineExceeded|deadline/i,
    );
  });

  it("cancels a running build whose Job deletion fails once: the reconciler deletes it, its pod goes and no image is pushed", async () => {
    const repository = repo("cancel");
    const id = await submit(
      env,
      `contexts/${repository}/1.tar.gz`,
      context({ Dockerfile: "FROM busybox:1.35\nRUN sleep 20\n" }),
    );
    await runningPod(id);
    const proxy = await kubernetesFaultProxy();
    try {
      proxy.setRule((request) =>
        request.method === "DELETE" ? { status: 500, body: '{"kind":"Status","message":"etcd timed out"}' } : undefined,
      );
      const { reconcileDeps } = throughProxies(env, { cluster: proxy });
      await expect(cancelBuild(id, { ...reconcileDeps, namespace: "dropbuild" }, "the test")).rejects.toThrow(
        /answered 500: etcd timed out/,
      );
    } finally {
      await proxy.close();
    }
    expect((await env.deps.store.get(id))?.status).toBe("CANCELLED");
    await reconcile(env.reconcileDeps);
    await eventually(
      "the build's pods gone",
      async () => ((await buildPods(id)).length === 0 ? true : undefined),
      60_000,
    );
    // Longer than the build would have taken: nothing may arrive late.
    await new Promise((resolve) => setTimeout(resolve, 25_000));
    expect(await registryTags(node, repository)).toEqual([]);
    expect((await env.deps.store.get(id))?.status).toBe("CANCELLED");
  });

  it("prunes workspace directories older than MAX_AGE_MINUTES with infra/k8s's CronJob, and keeps newer ones; bounds the base-image cache", async () => {
    const builds = join(bed().stateDir, "workspace", "builds");
    const old = join(builds, `old-${process.pid}`);
    const fresh = join(builds, `fresh-${process.pid}`);
    mkdirSync(join(old, "context"), { recursive: true });
    mkdirSync(fresh, { recursive: true });
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    // A base-image cache (a directory of its own, so builds running meanwhile keep theirs): one entry past its
    // age, and two fresh ones of 80 KB where only 100 KB may stay.
    const cacheDir = `cache/prune-test-${process.pid}`;
    const cache = join(bed().stateDir, "workspace", cacheDir);
    const entry = (name: string, ageMs: number) => {
      const path = join(cache, `${name}-${process.pid}`);
      mkdirSync(path, { recursive: true });
      writeFileSync(join(path, "blob"), Buffer.alloc(80 * 1024, 1));
      const at = new Date(Date.now() - ageMs);
      utimesSync(path, at, at);
      return path;
    };
    const expired = entry("expired", 20 * 86_400_000);
    const older = entry("older", 3_600_000);
    const newer = entry("newer", 60_000);
    const { batch } = admin();
    const cron = await batch.readNamespacedCronJob({ name: "dropbuild-workspace-prune", namespace: "dropbuild" });
    const name = `prune-now-${process.pid}`;
    const spec = structuredClone(cron.spec?.jobTemplate.spec);
    const prune = spec?.template.spec?.containers[0];
    for (const variable of prune?.env ?? []) {
      if (variable.name === "BASE_IMAGE_CACHE_MAX_KB") variable.value = "100";
      if (variable.name === "BASE_IMAGE_CACHE_DIR") variable.value = `/workspace/${cacheDir}`;
    }
    // What `kubectl create job --from=cronjob/dropbuild-workspace-prune` does (with a small cache bound).
    await batch.createNamespacedJob({ namespace: "dropbuild", body: { metadata: { name }, spec } });
    await eventually(
      "the prune Job complete",
      async () => {
        const job = await batch.readNamespacedJob({ name, namespace: "dropbuild" });
        return job.status?.succeeded ? true : undefined;
      },
      90_000,
    );
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    rmSync(fresh, { recursive: true, force: true });
    expect([existsSync(expired), existsSync(older), existsSync(newer)]).toEqual([false, false, true]);
    rmSync(cache, { recursive: true, force: true });
  });

  it("retries a build whose pod is killed mid-build, and the retry pushes", async () => {
    const repository = repo("killed");
    const id = await submit(
      env,
      `contexts/${repository}/1.tar.gz`,
      context({ Dockerfile: "FROM busybox:1.35\nRUN sleep 6\n" }),
    );
    const pod = await runningPod(id);
    const { core } = admin();
    await core.deleteNamespacedPod({ name: pod.metadata?.name ?? "", namespace: "dropbuild", gracePeriodSeconds: 0 });
    const { record } = await reconcileUntil(env, id, finished, 180_000);
    expect(record.status).toBe("SUCCEEDED");
    expect(record.attempts).toBe(2);
    expect(await registryDigest(node, `${repository}:1`)).toBe(record.digest);
  });
});
