/** Lambda entry, on a schedule (every minute): records Job outcomes. Composition root: src/roots/reconcile.ts. */
import type { Context, ScheduledEvent } from "aws-lambda";
import { loadConfig } from "../src/config.js";
import type { ReconcileReport } from "../src/reconcile/reconcile.js";
import { reconcileRoot } from "../src/roots/reconcile.js";

// Module scope: the reconciler's memory is kept while the container stays warm.
const run = reconcileRoot(loadConfig());

export const handler = (_event: ScheduledEvent, context: Context): Promise<ReconcileReport> =>
  run(() => context.getRemainingTimeInMillis());
