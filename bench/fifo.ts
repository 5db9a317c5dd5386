/** A queued build Job as the end-to-end benchmark reads it back from the cluster. */
export interface QueuedJob {
  name: string;
  /** Upload time: the queue's order (annotation dropbuild.dev/queued-at). */
  queuedAt: string;
  /** The Job's creationTimestamp (second resolution). */
  createdAt: string;
  /** When the reconciler released it (annotation dropbuild.dev/released-at). */
  releasedAt?: string;
}

/** One reconcile run, in epoch milliseconds. */
export interface Pass {
  start: number;
  end: number;
}

/**
 * Releases that broke queue order: B was released while an older upload A,
 * whose Job already existed when the run that released B began listing,
 * was left waiting. (A Job created during that run could not be seen by it;
 * it is ordered by the next run.)
 */
export function fifoViolations(jobs: readonly QueuedJob[], passes: readonly Pass[]): string[] {
  const violations: string[] = [];
  for (const b of jobs) {
    if (!b.releasedAt) continue;
    const releasedB = Date.parse(b.releasedAt);
    const passStart = passes.find((p) => p.start <= releasedB && releasedB <= p.end)?.start ?? releasedB;
    for (const a of jobs) {
      if (a === b || a.queuedAt >= b.queuedAt) continue;
      // creationTimestamp is truncated to the second: A surely existed only if created + 1 s <= the run's start.
      if (Date.parse(a.createdAt) + 1000 > passStart) continue;
      if (!a.releasedAt || Date.parse(a.releasedAt) > releasedB) {
        violations.push(`${b.name} (queued ${b.queuedAt}) released before older ${a.name} (queued ${a.queuedAt})`);
      }
    }
  }
  return violations;
}

/** The runs a local runtime's reconcile log recorded (each line ends a run and says how long it took). */
export function passesFromLog(log: string): Pass[] {
  const passes: Pass[] = [];
  for (const line of log.split("\n")) {
    let entry: { timestamp?: string; ms?: number };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // blank, or a line still being written
    }
    if (!entry.timestamp || entry.ms === undefined) continue;
    const end = Date.parse(entry.timestamp);
    passes.push({ start: end - entry.ms, end });
  }
  return passes;
}
