import type { WireJob } from "../kube/wire.js";
import { pool } from "../util/pool.js";
import { CONCURRENCY, type ReconcileDeps, type ReconcileReport } from "./deps.js";
import type { ReconcileMemory } from "./memory.js";
import { buildIdOf } from "./observe.js";
import { planRelease } from "./queue.js";

/**
 * Release suspended Jobs, oldest upload first, while the cap allows, and
 * tell each waiting build its place. With Kueue (no cap configured) the
 * Jobs are left for Kueue to admit. Only positions that changed are
 * written; the records of waiting builds are read only when this
 * reconciler does not already know their position.
 */
export async function releaseQueue(
  jobs: WireJob[],
  memory: ReconcileMemory,
  deps: ReconcileDeps,
  report: ReconcileReport,
): Promise<Set<string>> {
  const released = new Set<string>();
  if (deps.settings.maxConcurrentBuilds === 0) return released;
  const plan = planRelease(jobs, deps.settings.maxConcurrentBuilds);
  // One at a time, oldest first, so builds start in upload order.
  for (const job of plan.release) {
    if (await deps.cluster.release(job, deps.now())) {
      report.released += 1;
      released.add(job.metadata?.name ?? "");
    }
  }
  const waiting = plan.waiting
    .map((job, index) => ({ id: buildIdOf(job) ?? "", position: index + 1 }))
    .filter((entry) => entry.id);
  const known = new Map<string, number | undefined>();
  for (const { id } of waiting) if (memory.positions.has(id)) known.set(id, memory.positions.get(id));
  const unknown = waiting.filter(({ id }) => !known.has(id)).map(({ id }) => id);
  for (const [id, record] of await deps.store.getMany(unknown)) known.set(id, record.queuePosition);
  // Forget builds that stopped waiting; remember what the records say now.
  memory.positions.clear();
  for (const [id, position] of known) if (position !== undefined) memory.positions.set(id, position);
  const changed = waiting.filter(({ id, position }) => known.has(id) && known.get(id) !== position);
  await pool(changed, CONCURRENCY, async ({ id, position }) => {
    if (await deps.store.advance(id, "QUEUED", { queuePosition: position })) report.recordsUpdated += 1;
    // Also when the record moved on (started, cancelled): there is nothing to correct then.
    memory.positions.set(id, position);
  });
  return released;
}
