/** Lambda entry for nightly rebuilds (cron) and dropbuild.rebuild events. Composition root: src/roots/nightly.ts. */
import { loadConfig } from "../src/config.js";
import { nightlyRoot } from "../src/roots/nightly.js";

const handle = nightlyRoot(loadConfig());

export const handler = (event: unknown) => handle(event);
