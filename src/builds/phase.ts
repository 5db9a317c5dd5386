import { type BuildRecord, isTerminal } from "../build/record.js";
import type { ReconcileCluster } from "../kube/cluster.js";
import { FETCH_CONTAINER, KANIKO_CONTAINER, UNPACK_CONTAINER } from "../kube/job.js";
import type { WireContainerStatus, WirePod } from "../kube/wire.js";
import type { BuildLedger } from "../store/ports.js";
import { errorMessage } from "../util/error-message.js";
import { newestPod } from "./log.js";

/** Where a build is, finer than its status: what `builds wait` shows. */
export type PhaseName = "queued" | "starting" | "fetching" | "building" | "pushing" | "finished";

export interface BuildPhase {
  phase: PhaseName;
  /** While queued behind the concurrency cap: 1 is next. */
  position?: number;
  /** While building: the Dockerfile instruction kaniko is running, as kaniko logs it ("RUN make"). */
  step?: string;
  /** One line for people: "queued, position 2", "fetching the context", "building: RUN make", "pushing to …". */
  text: string;
}

/** The end of the kaniko container's log. */
export interface KanikoLogTail {
  text: string;
  /** Earlier lines were left out: a step's line may have scrolled out of `text`. */
  truncated: boolean;
}

export interface PhaseInput {
  record: BuildRecord;
  /** The build's newest pod (its current attempt), if any. */
  pod?: WirePod;
  log?: KanikoLogTail;
  /** The step seen last time, kept while a long step's output pushes its line out of a truncated tail. */
  lastStep?: string;
}

/**
 * What kaniko's log says it is doing, from lines as kaniko writes them with
 * `--log-format=text` (`time="…" level=info msg="RUN make"`) or its default
 * (`INFO[0002] RUN make`). A step is a logged Dockerfile instruction; a push
 * starts at "Pushing image to <destination>". What the build's own commands
 * print carries no such prefix and is never taken for either.
 */
export function kanikoProgress(log: string): { step?: string; pushingTo?: string } {
  let step: string | undefined;
  let pushingTo: string | undefined;
  for (const line of log.split("\n")) {
    const message = kanikoMessage(line);
    if (message === undefined) continue;
    const push = /^Pushing image to (.+)/.exec(message);
    if (push) pushingTo = push[1];
    else if (INSTRUCTION.test(message)) {
      step = message;
      pushingTo = undefined;
    }
  }
  return { step, pushingTo };
}

/** A Dockerfile instruction and its arguments (kaniko's own messages, "Cmd: /bin/sh" or "Running: […]", are not). */
const INSTRUCTION =
  /^(FROM|RUN|CMD|LABEL|MAINTAINER|EXPOSE|ENV|ADD|COPY|ENTRYPOINT|VOLUME|USER|WORKDIR|ARG|ONBUILD|STOPSIGNAL|HEALTHCHECK|SHELL)\s/i;
/** logrus's text format: `msg` is quoted (Go's %q) when it holds anything but [A-Za-z0-9-._/@^+]. */
const TEXT_FORMAT = /^time=\S+ level=\w+ msg=(?:("(?:[^"\\]|\\.)*")|(\S+))/;
const DEFAULT_FORMAT = /^(?:INFO|WARN|DEBU|TRAC|ERRO|FATA|PANI)\[[^\]]*\] (.*)$/;

/** The message of one kaniko log line, or undefined for anything else (a RUN's output). */
function kanikoMessage(line: string): string | undefined {
  const text = TEXT_FORMAT.exec(line);
  if (text) return text[1] === undefined ? text[2] : unquote(text[1]);
  return DEFAULT_FORMAT.exec(line)?.[1]?.trim();
}

/** A Go-quoted string's text (JSON reads most of Go's escapes; the rest are kept as written). */
function unquote(quoted: string): string {
  try {
    return String(JSON.parse(quoted));
  } catch {
    return quoted.slice(1, -1);
  }
}

/** A step as one short line: multi-line instructions and long ones are cut. */
function oneLine(step: string): string {
  const line = step.replace(/\s+/g, " ").trim();
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

/**
 * The phase of a build from its record, its newest pod and the tail of the
 * kaniko log. Pure: readBuildPhase gathers what it reads.
 */
export function decidePhase(input: PhaseInput): BuildPhase {
  const { record, pod } = input;
  if (isTerminal(record.status)) return { phase: "finished", text: "finished" };
  if (!pod) {
    if (record.status === "RUNNING") return { phase: "starting", text: "starting: waiting for the pod" };
    const position = record.queuePosition;
    return position ? { phase: "queued", position, text: `queued, position ${position}` } : queued;
  }
  return initPhase(pod) ?? kanikoPhase(input, containerStatus(pod.status?.containerStatuses, KANIKO_CONTAINER));
}

const queued: BuildPhase = { phase: "queued", text: "queued" };

const containerStatus = (statuses: WireContainerStatus[] | undefined, name: string) =>
  statuses?.find((status) => status.name === name);

/** Waiting reasons that only mean "on its way" ("ContainerCreating", "PodInitializing"); others are worth showing. */
const ROUTINE_WAITING = new Set(["ContainerCreating", "PodInitializing"]);

/** A container that has not started: routine while its image is pulled and it is created; otherwise why. */
function waitingPhase(status: WireContainerStatus | undefined): BuildPhase | undefined {
  const reason = status?.state?.waiting?.reason;
  return reason && !ROUTINE_WAITING.has(reason)
    ? { phase: "starting", text: `starting: ${reason} (${status?.name})` }
    : undefined;
}

const startingPod: BuildPhase = { phase: "starting", text: "starting the pod" };

/** The phase while the init containers stage the context; undefined once they are done. */
function initPhase(pod: WirePod): BuildPhase | undefined {
  const statuses = pod.status?.initContainerStatuses;
  const fetch = containerStatus(statuses, FETCH_CONTAINER);
  // A plain .tar has an unpack step; a gzip context has none (kaniko unpacks it).
  const unpack = containerStatus(statuses, UNPACK_CONTAINER);
  // Not scheduled or not started yet; a pod past its init containers lists kaniko's status.
  if (!fetch) return pod.status?.containerStatuses?.length ? undefined : startingPod;
  const steps: [WireContainerStatus, string][] = [[fetch, "fetching the context"]];
  if (unpack) steps.push([unpack, "unpacking the context"]);
  for (const [status, doing] of steps) {
    const state = status.state ?? {};
    if (state.terminated?.exitCode === 0) continue;
    if (state.terminated) return { phase: "fetching", text: `${doing} failed (exit ${state.terminated.exitCode})` };
    if (state.running) return { phase: "fetching", text: doing };
    return waitingPhase(status) ?? (status === fetch ? startingPod : { phase: "fetching", text: doing });
  }
  return undefined;
}

/** The phase once the context is staged: kaniko starting, building a step, pushing, or done. */
function kanikoPhase(input: PhaseInput, kaniko: WireContainerStatus | undefined): BuildPhase {
  const terminated = kaniko?.state?.terminated;
  if (terminated) {
    const how = terminated.exitCode === 0 ? "kaniko finished" : `kaniko exited with ${terminated.exitCode}`;
    return { phase: "finished", text: `${how}; recording the outcome` };
  }
  if (!kaniko?.state?.running) {
    return waitingPhase(kaniko) ?? { phase: "building", text: "building" };
  }
  const progress = input.log ? kanikoProgress(input.log.text) : {};
  if (progress.pushingTo) return { phase: "pushing", text: `pushing to ${progress.pushingTo}` };
  const carried = input.log?.truncated ? input.lastStep : undefined;
  const step = progress.step ? oneLine(progress.step) : carried;
  return step ? { phase: "building", step, text: `building: ${step}` } : { phase: "building", text: "building" };
}

/** How many of the kaniko log's last lines a progress reading fetches. */
export const PHASE_TAIL_LINES = 200;

export interface PhaseDeps {
  store: Pick<BuildLedger, "get">;
  /** Absent where there is no cluster access: then only the record's status is known. */
  cluster?: Pick<ReconcileCluster, "listPods" | "podLog">;
  namespace: string;
}

export interface PhaseReading {
  record: BuildRecord;
  /** undefined when the cluster could not be read (or there is no access): show the status only. */
  phase?: BuildPhase;
  /** Why the cluster could not be read, when it could not. */
  problem?: string;
}

/**
 * Read a build's record, its newest pod and the end of its kaniko log, and
 * decide its phase. undefined when there is no such build. `lastStep` is the
 * step of the previous reading (see PhaseInput).
 */
export async function readBuildPhase(
  id: string,
  deps: PhaseDeps,
  lastStep?: string,
): Promise<PhaseReading | undefined> {
  const record = await deps.store.get(id);
  if (!record) return undefined;
  if (isTerminal(record.status)) return { record, phase: decidePhase({ record }) };
  // A released build's record may still say QUEUED for a moment: its pod says more.
  if (!deps.cluster) return { record };
  let pod: WirePod | undefined;
  try {
    pod = newestPod(await deps.cluster.listPods(deps.namespace, [id]));
  } catch (error: unknown) {
    return { record, problem: errorMessage(error) };
  }
  const log = pod ? await logTail(pod, deps) : undefined;
  return { record, phase: decidePhase({ record, pod, log, lastStep }) };
}

/** The end of a running kaniko container's log; undefined before it runs, or when it cannot be read. */
async function logTail(pod: WirePod, deps: PhaseDeps): Promise<KanikoLogTail | undefined> {
  const name = pod.metadata?.name;
  const kaniko = containerStatus(pod.status?.containerStatuses, KANIKO_CONTAINER);
  if (!name || !deps.cluster || !kaniko?.state?.running) return undefined;
  try {
    const text = await deps.cluster.podLog(deps.namespace, name, KANIKO_CONTAINER, { tailLines: PHASE_TAIL_LINES });
    if (text === undefined) return undefined;
    return { text, truncated: text.split("\n").filter(Boolean).length >= PHASE_TAIL_LINES };
  } catch {
    // A log that cannot be read (yet) still leaves the pod's phase to show.
    return undefined;
  }
}
