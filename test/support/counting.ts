import type { ReconcileDeps } from "../../src/reconcile/reconcile.js";

export interface CallCounts {
  /** Job list calls to the API server. */
  listCalls: number;
  /** Table writes (creates, conditional updates, event claims and marks). */
  writes: number;
  /** Records read by id (each id of a batch read counts). */
  recordsRead: number;
}

/**
 * Count what a reconciler asks of its real collaborators, by wrapping the
 * methods of the deps it was given (the calls still go to the bed).
 * `reset()` starts the counts again.
 */
export function countCalls(deps: ReconcileDeps): CallCounts & { reset: () => void } {
  const counts = {
    listCalls: 0,
    writes: 0,
    recordsRead: 0,
    reset() {
      counts.listCalls = 0;
      counts.writes = 0;
      counts.recordsRead = 0;
    },
  };
  const listJobs = deps.cluster.listJobs.bind(deps.cluster);
  deps.cluster.listJobs = (...args) => {
    counts.listCalls += 1;
    return listJobs(...args);
  };
  const getMany = deps.store.getMany.bind(deps.store);
  deps.store.getMany = (ids) => {
    counts.recordsRead += ids.length;
    return getMany(ids);
  };
  const get = deps.store.get.bind(deps.store);
  deps.store.get = (id) => {
    counts.recordsRead += 1;
    return get(id);
  };
  for (const method of ["advance", "markEventPublished", "claimEvent", "create"] as const) {
    const original = (deps.store[method] as (...a: unknown[]) => Promise<unknown>).bind(deps.store);
    (deps.store as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      counts.writes += 1;
      return original(...args);
    };
  }
  return counts;
}
