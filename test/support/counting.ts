import type { ReconcileDeps } from "../../src/reconcile/reconcile.js";

export interface CallCounts {
  /** Job list calls to the API server. */
  listCalls: number;
  /** Table writes (creates, conditional updates, event claims and marks). */
  writes: number;
  /** Records read by id (each id of a batch read counts). */
  recordsRead: number;
}

/** `target` with every method call reported to `seen` first; the calls still go to `target`. */
function observed<T extends object>(target: T, seen: (method: string, args: unknown[]) => void): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        seen(String(property), args);
        return Reflect.apply(value, object, args);
      };
    },
  });
}

const WRITES = new Set(["advance", "markEventPublished", "claimEvent", "create"]);

/**
 * Count what a reconciler asks of its real collaborators: the deps it was
 * given, with the cluster and the ledger wrapped (the calls still go to the
 * bed). Run the reconciler with the returned deps; `reset()` starts the
 * counts again.
 */
export function countCalls(deps: ReconcileDeps): { deps: ReconcileDeps; counts: CallCounts & { reset: () => void } } {
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
  const cluster = observed(deps.cluster, (method) => {
    if (method === "listJobs") counts.listCalls += 1;
  });
  const store = observed(deps.store, (method, args) => {
    if (method === "getMany") counts.recordsRead += (args[0] as string[]).length;
    else if (method === "get") counts.recordsRead += 1;
    else if (WRITES.has(method)) counts.writes += 1;
  });
  return { deps: { ...deps, cluster, store }, counts };
}
