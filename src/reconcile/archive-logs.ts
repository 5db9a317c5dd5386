import type { V1Pod } from "@kubernetes/client-node";
import type { LogArchive } from "../aws/log-archive.js";
import type { ReconcileCluster } from "../kube/cluster.js";
import { KANIKO_CONTAINER } from "../kube/job.js";

export type ArchivedLogs = { logLocation: string } | { logNote: string };

const oldestFirst = (a: V1Pod, b: V1Pod) =>
  new Date(a.metadata?.creationTimestamp ?? 0).getTime() - new Date(b.metadata?.creationTimestamp ?? 0).getTime();

/**
 * Copy the builder's logs of every attempt to S3 while the pods still exist
 * (the reconciler holds the Job, and so its pods, with the record finalizer
 * until this is done). When there are none, say why instead.
 */
export async function archiveLogs(
  namespace: string,
  pods: V1Pod[],
  cluster: ReconcileCluster,
  archive: LogArchive,
  buildId: string,
): Promise<ArchivedLogs> {
  const sections: string[] = [];
  const sorted = [...pods].sort(oldestFirst);
  for (const [index, pod] of sorted.entries()) {
    const name = pod.metadata?.name ?? "";
    const text = await cluster.podLog(namespace, name, KANIKO_CONTAINER);
    if (!text) continue;
    sections.push(
      `=== attempt ${index + 1} of ${sorted.length}: pod ${name} ===\n${text.endsWith("\n") ? text : `${text}\n`}`,
    );
  }
  if (sections.length === 0) {
    return {
      logNote:
        pods.length === 0
          ? "no logs: the build's pods were gone before the outcome was recorded"
          : "no logs: the builder container wrote none (it may never have started)",
    };
  }
  return { logLocation: await archive.put(buildId, sections.join("\n")) };
}
