import { beforeAll, describe, expect, it } from "vitest";
import type { BuildRecord } from "../../../src/build/record.js";
import { ARCHIVE_MARKER, RESTART_MARKER } from "../../../src/cli/follow.js";
import { admin, eventually } from "../../support/bed.js";
import { reconcileUntil, submitContext } from "../../support/builds.js";
import { dropbuild, dropbuildStream } from "../../support/cli.js";
import { deployOnBed } from "../../support/deployment.js";
import { lacks } from "../../support/needs.js";
import { gzip, tarArchive } from "../../support/tar.js";

/**
 * What a person sees while a real build runs on the bed's node, through the
 * real `dropbuild` executable: `builds wait` names the phase (queued with its
 * position, the Dockerfile step kaniko runs), `builds logs --follow` prints
 * the log as it grows. The reconciler runs in the test, as its schedule would.
 */
type Deployment = Awaited<ReturnType<typeof deployOnBed>>;
const finished = (r: BuildRecord) => ["SUCCEEDED", "FAILED", "CANCELLED"].includes(r.status);

function context(dockerfile: string): Buffer {
  return gzip(
    tarArchive([
      { path: "./", type: "Directory" },
      { path: "./Dockerfile", body: dockerfile },
    ]),
  );
}

/** The order phases come in; a line's phase never goes back. */
const PHASE_ORDER: [RegExp, number][] = [
  [/^queued/, 0],
  [/^starting/, 1],
  [/^(fetching|unpacking)/, 2],
  [/^building/, 3],
  [/^pushing/, 4],
  [/^(kaniko finished|finished)/, 5],
];

/** The phase texts of `builds wait` progress lines ("RUNNING real/x:1  building: RUN sleep 6  12s"). */
function phaseTexts(stderr: string): string[] {
  return stderr
    .split("\n")
    .map((line) => /^[A-Z]+ \S+ {2}(.+?) {2}\d+(?:m\d+)?s$/.exec(line)?.[1])
    .filter((text): text is string => text !== undefined);
}

const withoutNode = lacks("real-node", "kaniko's log and steps from real builds on the bed's node");

describe.skipIf(withoutNode)("following a build from the CLI", () => {
  let env: Deployment;
  /** The CLI's environment: the deployment's, with the functions' identity (it may read pods and their logs). */
  let shell: Record<string, string | undefined>;
  const repo = (name: string) => `progress/${name}-${process.pid}`;

  beforeAll(async () => {
    env = await deployOnBed({ real: true, env: { MAX_CONCURRENT_BUILDS: "1", BUILD_BACKOFF_LIMIT: "1" } });
    shell = {
      ...env.environment,
      AWS_ACCESS_KEY_ID: env.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: env.credentials.secretAccessKey,
      // Only the deployment's way to the cluster (CLUSTER_NAME on the bed), not one from the test's own environment.
      KUBECONFIG_PATH: env.environment.KUBECONFIG_PATH,
    };
  });

  it("refuses `builds logs --follow --json`: a stream is not one JSON document", async () => {
    const run = await dropbuild(["builds", "logs", "0123456789abcdef", "--follow", "--json"], shell);
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/--follow streams text; it cannot be used with --json/);
  });

  it("`builds logs --follow` prints a running build's log as it grows, and exits 0 when the build succeeds", async () => {
    const repository = repo("follow");
    const id = await submitContext(
      env,
      `contexts/${repository}/1.tar.gz`,
      context('FROM busybox:1.35\nRUN for i in 1 2 3 4 5 6 7 8; do echo "progress line $i"; sleep 1; done\n'),
    );
    const follow = dropbuildStream(["builds", "logs", id, "--follow"], shell);
    const { record } = await reconcileUntil(env, id, finished, 180_000);
    const ended = Date.now();
    const run = await follow.done;

    expect(run.code, run.stderr).toBe(0);
    expect(record.status).toBe("SUCCEEDED");
    const first = follow.firstMatch("stdout", /^progress line 1$/m) ?? Number.POSITIVE_INFINITY;
    const last = follow.firstMatch("stdout", /^progress line 8$/m) ?? Number.POSITIVE_INFINITY;
    // Printed while the build ran, a line at a time: the first seconds before the last, both before the end.
    expect(last - first).toBeGreaterThanOrEqual(4000);
    expect(last).toBeLessThan(ended);
    // Each line once, in order: reading on from an offset neither repeats nor skips.
    expect(run.stdout.match(/^progress line \d$/gm)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => `progress line ${i}`));
    // Printed whole: the pod's log as archived (under its attempt's heading), up to kaniko's push.
    const archived = await env.reconcileDeps.logs.get(id);
    expect(archived).toMatch(/^=== attempt 1 of 1: pod \S+ ===\n/);
    expect(archived?.replace(/^=== attempt 1 of 1: pod \S+ ===\n/, "")).toBe(run.stdout);
    expect(run.stdout).toMatch(/Pushing image to \S+progress\/follow-/);
    expect(run.stdout).not.toContain(RESTART_MARKER);
  });

  it("`builds wait` shows a queued build's position, then its phases down to kaniko's Dockerfile step", async () => {
    const blocker = await submitContext(
      env,
      `contexts/${repo("first")}/1.tar.gz`,
      context("FROM busybox:1.35\nRUN sleep 8\n"),
    );
    const repository = repo("wait");
    const id = await submitContext(env, `contexts/${repository}/1.tar.gz`, context("FROM busybox:1.35\nRUN sleep 6\n"));
    const wait = dropbuildStream(["builds", "wait", id], shell);
    // Without cluster access only the record can be read: the status, as before.
    const noCluster = { ...shell, CLUSTER_NAME: undefined, KUBECONFIG_PATH: undefined };
    const statusOnly = dropbuildStream(["builds", "wait", id], noCluster);
    await reconcileUntil(env, blocker, finished, 180_000);
    const { record } = await reconcileUntil(env, id, finished, 180_000);
    const [run, plain] = await Promise.all([wait.done, statusOnly.done]);

    expect(record.status).toBe("SUCCEEDED");
    expect(run.code, run.stderr).toBe(0);
    const texts = phaseTexts(run.stderr);
    expect(texts, run.stderr).toContain("queued, position 1");
    expect(texts, run.stderr).toContain("building: RUN sleep 6");
    expect(texts.at(-1)).toBe("finished");
    const ranks = texts.map((text) => PHASE_ORDER.find(([pattern]) => pattern.test(text))?.[1] ?? -1);
    expect(ranks, run.stderr).not.toContain(-1);
    expect(ranks, run.stderr).toEqual([...ranks].sort((a, b) => a - b));
    expect(run.stderr).toMatch(new RegExp(`^QUEUED ${repository}:1 {2}queued, position 1 {2}`, "m"));
    expect(run.stderr).toMatch(new RegExp(`^RUNNING ${repository}:1 {2}building: RUN sleep 6 {2}`, "m"));
    expect(run.stdout).toMatch(/SUCCEEDED/);

    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(new RegExp(`^QUEUED ${repository}:1 {2}queue position 1 {2}\\S+$`, "m"));
    expect(plain.stderr).toMatch(new RegExp(`^RUNNING ${repository}:1 {2}\\S+$`, "m"));
    expect(plain.stderr).not.toMatch(/building|fetching/);
  });

  it("`builds logs --follow` marks where a retried build's log starts over, and ends with the retry's log", async () => {
    const repository = repo("retried");
    const id = await submitContext(
      env,
      `contexts/${repository}/1.tar.gz`,
      context(
        'FROM busybox:1.35\nRUN sleep 4 && for i in $(seq 1 40); do echo "output line $i of the build"; done && sleep 8\n',
      ),
    );
    const follow = dropbuildStream(["builds", "logs", id, "--follow"], shell);
    const ending = reconcileUntil(env, id, finished, 240_000);
    // Killed once the follower has printed the first attempt's output: the retry's log, 4 s without any, is shorter.
    await eventually(
      "the first attempt's output printed",
      async () => (follow.firstMatch("stdout", /^output line 40 of/m) === undefined ? undefined : true),
      120_000,
    );
    const { core } = admin();
    const pods = await core.listNamespacedPod({
      namespace: "dropbuild",
      labelSelector: `dropbuild.dev/build-id=${id}`,
    });
    for (const pod of pods.items) {
      await core.deleteNamespacedPod({ name: pod.metadata?.name ?? "", namespace: "dropbuild", gracePeriodSeconds: 0 });
    }
    const { record } = await ending;
    const run = await follow.done;

    expect(record).toMatchObject({ status: "SUCCEEDED", attempts: 2 });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split(RESTART_MARKER)).toHaveLength(2);
    expect(run.stdout).not.toContain(ARCHIVE_MARKER);
    const retry = run.stdout.slice(run.stdout.indexOf(RESTART_MARKER) + RESTART_MARKER.length + 1);
    expect(retry.match(/^output line \d+ of the build$/gm)).toHaveLength(40);
    // The retry's log printed whole: the archive's last section, after its heading.
    const archived = (await env.reconcileDeps.logs.get(id)) ?? "";
    expect(archived.endsWith(` ===\n${retry}`), archived).toBe(true);
  });
});
