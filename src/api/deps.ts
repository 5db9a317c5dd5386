import type { BuildEvents } from "../aws/build-events.js";
import type { LogArchive } from "../aws/log-archive.js";
import type { ReconcileCluster } from "../kube/cluster.js";
import type { BuildLedger, BuildQueries } from "../store/ports.js";

/** What the HTTP API and the status page it serves run with. */
export interface ApiDeps {
  /** Reads pages and records; cancel writes through the ledger. */
  store: BuildLedger & BuildQueries;
  /** Archived builder logs (read; cancel archives what the builder logged). */
  logs: LogArchive;
  events: BuildEvents;
  /** Absent where the API has no cluster access: cancel and the queue answer 503, running builds' logs say why. */
  cluster?: ReconcileCluster;
  namespace: string;
  /** The deployment whose Jobs make up the queue (their dropbuild.dev/deployment label). */
  deployment: string;
  /** MAX_CONCURRENT_BUILDS: 0 means no cap. */
  maxConcurrentBuilds: number;
  now: () => Date;
  /** The status page's heading. */
  title?: string;
}
