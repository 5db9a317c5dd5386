/**
 * The test bed's launcher.
 *
 *   tsx bed/cli.ts build   build or install every component (cached per machine)
 *   tsx bed/cli.ts up      start the bed, print its endpoints as one JSON object
 *   tsx bed/cli.ts down    stop every process the bed started
 *
 * DROPBUILD_BED_DIR chooses the state directory (default .bed/default).
 */
import { ensureBedBinaries } from "./build/all.js";
import { stderrProgress } from "./build/progress.js";
import { defaultStateDir } from "./paths.js";
import { bedDown, bedUp } from "./up.js";

const command = process.argv[2];
const stateDir = defaultStateDir();
try {
  switch (command) {
    case "build":
      process.stdout.write(`${JSON.stringify(await ensureBedBinaries(stderrProgress), null, 2)}\n`);
      break;
    case "up":
      process.stdout.write(`${JSON.stringify(await bedUp(stateDir, stderrProgress), null, 2)}\n`);
      break;
    case "down": {
      const stopped = await bedDown(stateDir);
      stderrProgress(stopped.length ? `stopped ${stopped.join(", ")}` : "nothing was running");
      break;
    }
    default:
      throw new Error(`unknown command ${command ?? "(none)"}; use build, up or down`);
  }
} catch (error: unknown) {
  stderrProgress(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
