/** Lambda entry, on a schedule (every minute): records Job outcomes. Logic in src/reconcile. */
import type { Context, ScheduledEvent } from "aws-lambda";
import { loadConfig } from "../src/config.js";
import { KubernetesBuildCluster } from "../src/kube/cluster.js";
import { createLogger } from "../src/log.js";
import { createReconcileHandler } from "../src/reconcile/handler.js";
import { ReconcileMemory } from "../src/reconcile/memory.js";
import type { ReconcileReport } from "../src/reconcile/reconcile.js";
import { makeBuildEvents, makeBuildStore, makeConnector, makeLogArchive, reconcileSettings } from "../src/wiring.js";

const config = loadConfig();
const run = createReconcileHandler(
  {
    cluster: new KubernetesBuildCluster(makeConnector(config)),
    store: makeBuildStore(config),
    logs: makeLogArchive(config),
    events: makeBuildEvents(config),
    settings: reconcileSettings(config),
    now: () => new Date(),
    // Module scope: kept while the container stays warm.
    memory: new ReconcileMemory(),
  },
  createLogger("dropbuild-reconcile"),
);

export const handler = (_event: ScheduledEvent, context: Context): Promise<ReconcileReport> =>
  run(() => context.getRemainingTimeInMillis());
