import type { LogArchive } from "../aws/log-archive.js";
import type { ReconcileCluster } from "../kube/cluster.js";
import { KANIKO_CONTAINER } from "../kube/job.js";
import { KubeApiError } from "../kube/rest.js";
import type { WirePod } from "../kube/wire.js";

export type ArchivedLogs = { logLocation: string } | { logNote: string };

const oldestFirst = (a: WirePod, b: WirePod) =>
  new Date(a.metadata?.creationTimestamp ?? 0).getTime() - new Date(b.metadata?.creationTimestamp ?? 0).getTime();

/**
 * One pod's builder log; undefined when there is none. When the API server
 * answers but cannot give the log (5xx: the node's kubelet is unreachable,
 * the node is gone), the answer says why instead: waiting would hold the
 * build's outcome on a node that may never come back. When the API server
 * itself cannot be reached, the error is thrown, and a later run (the Job is
 * still held) reads the log.
 */
async function readLog(
  cluster: ReconcileCluster,
  namespace: string,
  pod: string,
): Promise<{ text?: string; unreadable?: string }> {
  try {
    return { text: await cluster.podLog(namespace, pod, KANIKO_CONTAINER) };
  } catch (error: unknown) {
    if (error instanceof KubeApiError && error.code >= 500) return { unreadable: error.message };
    throw error;
  }
}

/**
 * Copy the builder's logs of every attempt to S3 while the pods still exist
 * (the reconciler holds the Job, and so its pods, with the record finalizer
 * until this is done). When there are none, say why instead.
 */
export async function archiveLogs(
  namespace: string,
  pods: WirePod[],
  cluster: ReconcileCluster,
  archive: LogArchive,
  buildId: string,
): Promise<ArchivedLogs> {
  const sections: string[] = [];
  const unreadable: string[] = [];
  const sorted = [...pods].sort(oldestFirst);
  for (const [index, pod] of sorted.entries()) {
    const name = pod.metadata?.name ?? "";
    const heading = `=== attempt ${index + 1} of ${sorted.length}: pod ${name}`;
    const log = await readLog(cluster, namespace, name);
    if (log.unreadable) {
      unreadable.push(log.unreadable);
      sections.push(`${heading}: the log could not be read: ${log.unreadable} ===\n`);
    }
    if (!log.text) continue;
    sections.push(`${heading} ===\n${log.text.endsWith("\n") ? log.text : `${log.text}\n`}`);
  }
  if (sections.length === unreadable.length) {
    if (unreadable.length > 0) return { logNote: `no logs: the builder's log could not be read: ${unreadable.at(-1)}` };
    return {
      logNote:
        pods.length === 0
          ? "no logs: the build's pods were gone before the outcome was recorded"
          : "no logs: the builder container wrote none (it may never have started)",
    };
  }
  return { logLocation: await archive.put(buildId, sections.join("\n")) };
}
