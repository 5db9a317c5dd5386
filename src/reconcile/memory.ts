/**
 * What one reconciler remembers between its runs while its container stays
 * warm. It is only a cache of the reconciler's own work: a cold start begins
 * empty and reads what it needs, so losing it costs reads, never correctness.
 */
export class ReconcileMemory {
  /**
   * Queue positions this reconciler wrote (or read), by build id, for the
   * builds still waiting. The reconciler is the only writer of positions
   * (reserved concurrency 1), so these match the records without reading them.
   */
  readonly positions = new Map<string, number>();
  /** When the last sweep for QUEUED records without a Job finished (epoch ms). */
  lastSweepMs = Number.NEGATIVE_INFINITY;
}
