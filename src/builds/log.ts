import type { LogArchive } from "../aws/log-archive.js";
import { type BuildRecord, type BuildStatus, isTerminal } from "../build/record.js";
import type { ReconcileCluster } from "../kube/cluster.js";
import { KANIKO_CONTAINER } from "../kube/job.js";
import type { WirePod } from "../kube/wire.js";
import { newestFirst } from "../reconcile/observe.js";
import type { BuildLedger } from "../store/ports.js";

/** Where a build's log comes from: S3 once archived, the builder pod while it runs. */
export type LogSource = "archive" | "live" | "none";

/** One read of a build's log, from a character offset on, so a reader can follow it. */
export interface BuildLog {
  id: string;
  status: BuildStatus;
  source: LogSource;
  /** The builder pod a live log is read from; absent for the archive (every attempt, each under a heading). */
  pod?: string;
  /**
   * Where `text` starts: the offset asked for, or 0 when the offset counted in
   * another log (a retry's new pod, or the archive that replaced the live log).
   */
  from: number;
  /** The log from `from` on. */
  text: string;
  /** The length of the whole log read so far: the offset of the next read. */
  offset: number;
  /** The build has finished and this is its whole log: nothing more will come. */
  complete: boolean;
  /** Why there is no log (yet), when there is none. */
  note?: string;
}

export interface LogDeps {
  store: Pick<BuildLedger, "get">;
  logs: Pick<LogArchive, "get">;
  /** Absent where there is no cluster access: a running build's log cannot be read then. */
  cluster?: Pick<ReconcileCluster, "listPods" | "podLog">;
  namespace: string;
}

/** The newest of a build's pods: a retried build's current attempt. */
export const newestPod = (pods: WirePod[]): WirePod | undefined => [...pods].sort(newestFirst)[0];

async function liveLog(id: string, deps: LogDeps): Promise<{ pod: string; text: string } | undefined> {
  if (!deps.cluster) return undefined;
  const pod = newestPod(await deps.cluster.listPods(deps.namespace, [id]))?.metadata?.name;
  const text = pod ? await deps.cluster.podLog(deps.namespace, pod, KANIKO_CONTAINER) : undefined;
  return pod && text !== undefined ? { pod, text } : undefined;
}

/** Where a reader's last read came from: a live pod's name, or undefined for the archive. */
export interface ReadFrom {
  offset: number;
  /** Given, the offset counts in this pod's log (or the archive, for ""), and a read of another log starts at 0. */
  pod?: string;
  /** At most this many characters; `offset` then says where to go on, and `complete` waits for the end. */
  max?: number;
  /** Start no earlier than this many characters before the end (a page shows the end of a long log). */
  tail?: number;
}

/** Why a build has no log to show yet (or any more). */
function noLogNote(status: BuildStatus, logNote: string | undefined, hasCluster: boolean): string {
  if (isTerminal(status)) return logNote ?? "no logs were archived for this build";
  if (!hasCluster) return `the build is ${status}; set CLUSTER_NAME or KUBECONFIG_PATH to read live logs`;
  return `no logs yet: the build is ${status}`;
}

/**
 * A build's log from `offset` on: the archive when there is one, else the
 * builder pod's while the build runs. undefined when there is no such build.
 * `complete` tells a follower to stop. The one reader behind
 * `dropbuild builds logs`, `GET /builds/{id}/log` and the build page.
 */
export async function readBuildLog(
  id: string,
  deps: LogDeps,
  at: ReadFrom = { offset: 0 },
): Promise<BuildLog | undefined> {
  const record = await deps.store.get(id);
  return record ? readLogOf(record, deps, at) : undefined;
}

/** readBuildLog for a record already read. */
export async function readLogOf(record: BuildRecord, deps: LogDeps, at: ReadFrom = { offset: 0 }): Promise<BuildLog> {
  const terminal = isTerminal(record.status);
  // Only an archived build has an archive (settle and cancel set logLocation once it is written).
  const archived = record.logLocation ? await deps.logs.get(record.id) : undefined;
  const live = archived === undefined && !terminal ? await liveLog(record.id, deps) : undefined;
  const whole = archived ?? live?.text ?? "";
  const source: LogSource = archived !== undefined ? "archive" : live !== undefined ? "live" : "none";
  // Another log than the reader's (shorter: a new attempt's pod started over), so their offset means nothing here.
  const sameLog = at.pod === undefined || at.pod === (live?.pod ?? "");
  let from = sameLog && at.offset <= whole.length ? at.offset : 0;
  if (at.tail !== undefined) from = Math.max(from, whole.length - at.tail);
  const text = whole.slice(from, at.max === undefined ? undefined : from + at.max);
  const offset = from + text.length;
  const log: BuildLog = {
    id: record.id,
    status: record.status,
    source,
    from,
    text,
    offset,
    complete: terminal && offset === whole.length,
  };
  if (live) log.pod = live.pod;
  if (archived === undefined && live === undefined)
    log.note = noLogNote(record.status, record.logNote, deps.cluster !== undefined);
  return log;
}
