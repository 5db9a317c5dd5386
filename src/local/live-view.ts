import { BUILD_STATUSES, type BuildStatus } from "../build/record.js";
import { colourStatus } from "../cli/format.js";
import type { BuildStore } from "../store/builds.js";

/**
 * The compact view `dropbuild local up` keeps on screen: builds per status
 * and the latest events. On a terminal it redraws in place; otherwise it
 * prints each new event once.
 */
export function startLiveView(options: {
  store: BuildStore;
  write: (text: string) => void;
  interactive: boolean;
  colour: boolean;
  header: string;
  everyMs?: number;
}): { activity: (line: string) => void; stop: () => void } {
  const recent: string[] = [];
  let drawnLines = 0;
  let lastCounts = "";
  const draw = async () => {
    const page = await options.store.query({ limit: 500 }).catch(() => undefined);
    const counts = new Map<BuildStatus, number>();
    for (const record of page?.records ?? []) counts.set(record.status, (counts.get(record.status) ?? 0) + 1);
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
  const timer = setInterval(() => void draw(), options.everyMs ?? 1000);
  void draw();
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
