import { BUILD_STATUSES, type BuildStatus } from "../build/record.js";
import type { BuildLedger, BuildQueries } from "../store/ports.js";
import { colourStatus } from "../util/format.js";

/**
 * The compact view `dropbuild local up` keeps on screen: builds per status
 * and the latest events. On a terminal it redraws in place; otherwise it
 * prints each new event once.
 */
export function startLiveView(options: {
  store: BuildLedger & BuildQueries;
  write: (text: string) => void;
  interactive: boolean;
  colour: boolean;
  header: string;
  /** Count builds submitted since then (the runtime's start). */
  since: string;
  everyMs?: number;
}): { activity: (line: string) => void; stop: () => void } {
  const recent: string[] = [];
  let drawnLines = 0;
  let lastCounts = "";
  /** The previous frame's counts: a failed count shows its last value, not 0. */
  let last = new Map<BuildStatus, number>();
  const draw = async () => {
    // Counts only: the view must not load the table (or the emulator) it is watching.
    const counts = new Map<BuildStatus, number>();
    await Promise.all(
      BUILD_STATUSES.map(async (status) =>
        counts.set(status, await options.store.count(status, options.since).catch(() => last.get(status) ?? 0)),
      ),
    );
    last = counts;
    const line = BUILD_STATUSES.map((s) => `${colourStatus(s, options.colour)} ${counts.get(s) ?? 0}`).join("  ");
    if (options.interactive) {
      const lines = [options.header, "", `builds: ${line}`, "latest:", ...recent.slice(-6).map((r) => `  ${r}`)];
      options.write(`${drawnLines ? `\x1b[${drawnLines}A\x1b[0J` : ""}${lines.join("\n")}\n`);
      drawnLines = lines.join("\n").split("\n").length;
    } else if (line !== lastCounts) {
      options.write(`builds: ${line}\n`);
    }
    lastCounts = line;
  };
  let drawing = false;
  const tick = () => {
    if (drawing) return; // a slow emulator: skip a frame rather than pile up queries
    drawing = true;
    void draw().finally(() => {
      drawing = false;
    });
  };
  const timer = setInterval(tick, options.everyMs ?? 2000);
  tick();
  return {
    activity: (line: string) => {
      const stamped = `${new Date().toISOString().slice(11, 19)} ${line}`;
      recent.push(stamped);
      if (recent.length > 50) recent.shift();
      if (!options.interactive) options.write(`${stamped}\n`);
    },
    stop: () => clearInterval(timer),
  };
}
