import { describe, expect, it } from "vitest";
import type { BuildStatus } from "../../../src/build/record.js";
import { type BuildPhase, decidePhase, kanikoProgress, type PhaseInput } from "../../../src/builds/phase.js";
import type { WireContainerStatus, WirePod } from "../../../src/kube/wire.js";
import { recordFixture } from "../../support/record-fixture.js";

/*
 * A real kaniko log: the bed's kaniko (v1.28.3, the Job's --log-format=text)
 * on its real node, building
 *   FROM busybox:1.35
 *   RUN for i in 1 2 3; do echo "progress line $i"; sleep 1; done
 *   COPY app.txt /app.txt
 * and pushing it to the bed registry, as the reconciler archived it (without
 * the archive's "=== attempt 1 of 1: pod … ===" heading).
 */
const KANIKO_LOG = String.raw`time="2026-12-02T15:36:47Z" level=info msg="active feature flags: FF_KANIKO_BUILDKIT_ARG_ENV_PRECEDENCE, FF_KANIKO_CLEAN_KANIKO_DIR, FF_KANIKO_DEPRECATE_INTER_STAGE_RESTORE, FF_KANIKO_NO_PROPAGATE_ANNOTATIONS, FF_KANIKO_OCI_WARMER, FF_KANIKO_PRESERVE_HARDLINKS, FF_KANIKO_RELATIVE_LINK_TARGETS, FF_KANIKO_PRESERVE_MOUNTED_PATHS, FF_KANIKO_RUN_MOUNT_BIND, FF_KANIKO_SECUREJOIN_EXTRACTION, FF_KANIKO_VOLUME_SKIP_MKDIR, FF_KANIKO_WARMER_CACHE_LOCK"
time="2026-12-02T15:36:47Z" level=info msg="credential providers by priority: [file:/kaniko/.docker/config.json, env, google, ecr, acr, gitlab]"
time="2026-12-02T15:36:47Z" level=info msg="Retrieving image manifest busybox:1.35"
time="2026-12-02T15:36:47Z" level=info msg="Retrieving image busybox:1.35 from mapped registry 10.213.0.1:5000"
time="2026-12-02T15:36:47Z" level=info msg="credential providers by priority: [file:/kaniko/.docker/config.json, env, google, ecr, acr, gitlab]"
time="2026-12-02T15:36:47Z" level=info msg="Retrieving image manifest busybox:1.35"
time="2026-12-02T15:36:47Z" level=info msg="Returning cached image manifest"
time="2026-12-02T15:36:47Z" level=info msg="Built cross stage deps: map[]"
time="2026-12-02T15:36:47Z" level=info msg="Retrieving image manifest busybox:1.35"
time="2026-12-02T15:36:47Z" level=info msg="Returning cached image manifest"
time="2026-12-02T15:36:47Z" level=info msg="Building stage 'busybox:1.35' [idx: '0', base-idx: '-1']"
time="2026-12-02T15:36:47Z" level=info msg="Unpacking rootfs as cmd RUN for i in 1 2 3; do echo \"progress line $i\"; sleep 1; done requires it."
time="2026-12-02T15:36:48Z" level=info msg="RUN for i in 1 2 3; do echo \"progress line $i\"; sleep 1; done"
time="2026-12-02T15:36:48Z" level=info msg="Initializing snapshotter ..."
time="2026-12-02T15:36:48Z" level=info msg="Taking snapshot of full filesystem..."
time="2026-12-02T15:36:48Z" level=info msg="Cmd: /bin/sh"
time="2026-12-02T15:36:48Z" level=info msg="Args: [-c for i in 1 2 3; do echo \"progress line $i\"; sleep 1; done]"
time="2026-12-02T15:36:48Z" level=info msg="Running: [/bin/sh -c for i in 1 2 3; do echo \"progress line $i\"; sleep 1; done]"
progress line 1
progress line 2
progress line 3
time="2026-12-02T15:36:51Z" level=info msg="Taking snapshot of full filesystem..."
time="2026-12-02T15:36:51Z" level=info msg="COPY app.txt /app.txt"
time="2026-12-02T15:36:51Z" level=info msg="Taking snapshot of files..."
time="2026-12-02T15:36:51Z" level=info msg="credential providers by priority: [file:/kaniko/.docker/config.json, env, google, ecr, acr, gitlab]"
time="2026-12-02T15:36:51Z" level=info msg="Pushing image to 10.213.0.1:5000/progress/fixture:1"
time="2026-12-02T15:36:52Z" level=info msg="Pushed 10.213.0.1:5000/progress/fixture@sha256:f034811c09ad776aec0509cf437bb99e00c5fc81b460dae70a609bee8a82ba9b"
`;

/** The log as it stood once the line matching `pattern` was written (kaniko writes whole lines). */
const logUpTo = (pattern: RegExp): string => {
  const lines = KANIKO_LOG.split("\n");
  const index = lines.findIndex((line) => pattern.test(line));
  if (index < 0) throw new Error(`the fixture has no line matching ${pattern}`);
  return `${lines.slice(0, index + 1).join("\n")}\n`;
};

const waiting = (name: string, reason: string): WireContainerStatus => ({ name, state: { waiting: { reason } } });
const running = (name: string): WireContainerStatus => ({
  name,
  state: { running: { startedAt: "2026-11-25T10:00:05Z" } },
});
const exited = (name: string, exitCode = 0): WireContainerStatus => ({ name, state: { terminated: { exitCode } } });

/** The build's pod as the API server lists it: its init containers' statuses, then kaniko's. */
function pod(init: WireContainerStatus[], kaniko?: WireContainerStatus, phase = "Pending"): WirePod {
  return {
    metadata: { name: "dropbuild-0123456789abcdef-x7k2p", creationTimestamp: "2026-11-25T10:00:00Z" },
    status: { phase, initContainerStatuses: init, containerStatuses: kaniko ? [kaniko] : undefined },
  };
}
/** Past the init containers, kaniko running. */
const building = pod([exited("fetch-context"), exited("unpack-context")], running("kaniko"), "Running");

const phaseOf = (status: BuildStatus, input: Omit<PhaseInput, "record"> = {}, queuePosition?: number): BuildPhase =>
  decidePhase({ record: recordFixture(status, { queuePosition }), ...input });

describe("a build's phase", () => {
  it("is queued, with its position, while its Job waits behind the concurrency cap", () => {
    expect(phaseOf("QUEUED", {}, 2)).toEqual({ phase: "queued", position: 2, text: "queued, position 2" });
    expect(phaseOf("QUEUED")).toEqual({ phase: "queued", text: "queued" });
  });

  it("is starting while the Job has no pod yet or the pod is not running anything", () => {
    expect(phaseOf("RUNNING")).toEqual({ phase: "starting", text: "starting: waiting for the pod" });
    expect(phaseOf("RUNNING", { pod: pod([]) })).toEqual({ phase: "starting", text: "starting the pod" });
    const creating = pod([waiting("fetch-context", "ContainerCreating"), waiting("unpack-context", "PodInitializing")]);
    expect(phaseOf("RUNNING", { pod: creating }).text).toBe("starting the pod");
  });

  it("goes by the pod, not a QUEUED record's old position, once the Job is released", () => {
    const fetching = pod([running("fetch-context"), waiting("unpack-context", "PodInitializing")]);
    expect(phaseOf("QUEUED", { pod: fetching }, 1)).toEqual({ phase: "fetching", text: "fetching the context" });
  });

  it("says why a container cannot start", () => {
    const pull = pod([waiting("fetch-context", "ImagePullBackOff"), waiting("unpack-context", "PodInitializing")]);
    expect(phaseOf("RUNNING", { pod: pull })).toEqual({
      phase: "starting",
      text: "starting: ImagePullBackOff (fetch-context)",
    });
    const kaniko = pod([exited("fetch-context"), exited("unpack-context")], waiting("kaniko", "ErrImagePull"));
    expect(phaseOf("RUNNING", { pod: kaniko }).text).toBe("starting: ErrImagePull (kaniko)");
  });

  it("is fetching while the init containers copy the context from S3 and unpack it", () => {
    const fetch = pod([running("fetch-context"), waiting("unpack-context", "PodInitializing")]);
    expect(phaseOf("RUNNING", { pod: fetch })).toEqual({ phase: "fetching", text: "fetching the context" });
    const unpack = pod([exited("fetch-context"), running("unpack-context")]);
    expect(phaseOf("RUNNING", { pod: unpack })).toEqual({ phase: "fetching", text: "unpacking the context" });
    const between = pod([exited("fetch-context"), waiting("unpack-context", "PodInitializing")]);
    expect(phaseOf("RUNNING", { pod: between }).text).toBe("unpacking the context");
    const failed = pod([exited("fetch-context", 1), waiting("unpack-context", "PodInitializing")], undefined, "Failed");
    expect(phaseOf("RUNNING", { pod: failed })).toEqual({
      phase: "fetching",
      text: "fetching the context failed (exit 1)",
    });
  });

  it("is fetching, then building, for a gzip context, whose pod has no unpack step (kaniko unpacks it)", () => {
    expect(phaseOf("RUNNING", { pod: pod([waiting("fetch-context", "PodInitializing")]) }).text).toBe(
      "starting the pod",
    );
    expect(phaseOf("RUNNING", { pod: pod([running("fetch-context")]) })).toEqual({
      phase: "fetching",
      text: "fetching the context",
    });
    const failed = pod([exited("fetch-context", 255)], undefined, "Failed");
    expect(phaseOf("RUNNING", { pod: failed }).text).toBe("fetching the context failed (exit 255)");
    const starting = pod([exited("fetch-context")], waiting("kaniko", "PodInitializing"));
    expect(phaseOf("RUNNING", { pod: starting })).toEqual({ phase: "building", text: "building" });
  });

  it("is building, before any step, while kaniko starts and reads the base image", () => {
    const starting = pod([exited("fetch-context"), exited("unpack-context")], waiting("kaniko", "PodInitializing"));
    expect(phaseOf("RUNNING", { pod: starting })).toEqual({ phase: "building", text: "building" });
    expect(phaseOf("RUNNING", { pod: building })).toEqual({ phase: "building", text: "building" });
    const early = { text: logUpTo(/Retrieving image manifest/), truncated: false };
    expect(phaseOf("RUNNING", { pod: building, log: early })).toEqual({ phase: "building", text: "building" });
  });

  it("is building the step kaniko logged last, whatever that step's own commands print", () => {
    const inRun = { text: logUpTo(/^progress line 2$/), truncated: false };
    expect(phaseOf("RUNNING", { pod: building, log: inRun })).toEqual({
      phase: "building",
      step: 'RUN for i in 1 2 3; do echo "progress line $i"; sleep 1; done',
      text: 'building: RUN for i in 1 2 3; do echo "progress line $i"; sleep 1; done',
    });
    const inCopy = { text: logUpTo(/msg="COPY app\.txt \/app\.txt"/), truncated: false };
    expect(phaseOf("RUNNING", { pod: building, log: inCopy }).text).toBe("building: COPY app.txt /app.txt");
  });

  it("is pushing from kaniko's `Pushing image to` on, naming the destination", () => {
    const pushing = { text: logUpTo(/Pushing image to/), truncated: false };
    expect(phaseOf("RUNNING", { pod: building, log: pushing })).toEqual({
      phase: "pushing",
      text: "pushing to 10.213.0.1:5000/progress/fixture:1",
    });
    expect(phaseOf("RUNNING", { pod: building, log: { text: KANIKO_LOG, truncated: false } }).phase).toBe("pushing");
  });

  it("keeps the last step while a long step's output fills the tail it reads, and only then", () => {
    const output = { text: "progress line 1\nprogress line 2\n", truncated: true };
    expect(phaseOf("RUNNING", { pod: building, log: output, lastStep: "RUN make" })).toMatchObject({
      phase: "building",
      step: "RUN make",
    });
    const whole = { ...output, truncated: false };
    expect(phaseOf("RUNNING", { pod: building, log: whole, lastStep: "RUN make" })).toEqual({
      phase: "building",
      text: "building",
    });
  });

  it("is finished once the record is, and waits for the outcome once kaniko has exited", () => {
    for (const status of ["SUCCEEDED", "FAILED", "REJECTED", "CANCELLED"] as const) {
      expect(phaseOf(status, { pod: building })).toEqual({ phase: "finished", text: "finished" });
    }
    const done = pod([exited("fetch-context"), exited("unpack-context")], exited("kaniko"), "Succeeded");
    expect(phaseOf("RUNNING", { pod: done })).toEqual({
      phase: "finished",
      text: "kaniko finished; recording the outcome",
    });
    const failed = pod([exited("fetch-context"), exited("unpack-context")], exited("kaniko", 1), "Failed");
    expect(phaseOf("RUNNING", { pod: failed }).text).toBe("kaniko exited with 1; recording the outcome");
  });
});

describe("reading kaniko's log", () => {
  it("takes no step from what a RUN prints, even when it looks like an instruction", () => {
    const log = 'time="2026-11-25T10:00:01Z" level=info msg="RUN ./build.sh"\nRUN this is output\nCOPY so is this\n';
    expect(kanikoProgress(log)).toEqual({ step: "RUN ./build.sh", pushingTo: undefined });
  });

  it("takes no step from kaniko's own messages about the step", () => {
    const log = [
      'time="2026-11-25T10:00:01Z" level=info msg="RUN make"',
      'time="2026-11-25T10:00:01Z" level=info msg="Cmd: /bin/sh"',
      'time="2026-11-25T10:00:01Z" level=info msg="Args: [-c make]"',
      'time="2026-11-25T10:00:01Z" level=info msg="Running: [/bin/sh -c make]"',
      "",
    ].join("\n");
    expect(kanikoProgress(log).step).toBe("RUN make");
  });

  it("reads kaniko's default format too, and unquoted one-word messages", () => {
    const log = "INFO[0001] RUN make                                    \nINFO[0004] Pushing image to reg/x:1 \n";
    expect(kanikoProgress(log)).toEqual({ step: "RUN make", pushingTo: "reg/x:1" });
    expect(kanikoProgress('time="2026-11-25T10:00:01Z" level=info msg=Done\n')).toEqual({});
  });

  it("shows a long or multi-line step on one short line", () => {
    const long = `RUN apt-get install -y ${"package ".repeat(30)}`;
    const log = `time="2026-11-25T10:00:01Z" level=info msg=${JSON.stringify(long)}\n`;
    const phase = phaseOf("RUNNING", { pod: building, log: { text: log, truncated: false } });
    expect(phase.step).toHaveLength(100);
    expect(phase.step?.endsWith("…")).toBe(true);
  });
});
