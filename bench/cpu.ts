import { readFileSync } from "node:fs";
import type { BedInfo } from "../bed/state.js";
import { readState } from "../bed/state.js";

/** CPU time (ms) spent so far by each bed component and by this process. */
export type CpuSample = Map<string, number>;

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
    return (ticks * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** One reading of every bed process's CPU time, plus this process's (the trigger code runs here). */
export function sampleCpu(bed: BedInfo): CpuSample {
  const sample: CpuSample = new Map();
  for (const daemon of readState(bed.stateDir)?.daemons ?? []) {
    sample.set(daemon.name, (sample.get(daemon.name) ?? 0) + processCpuMs(daemon.pid));
  }
  const own = process.cpuUsage();
  sample.set("bench process", (own.user + own.system) / 1000);
  return sample;
}

/** CPU ms per item between two samples, by component, largest first (components that used none left out). */
export function cpuPerItem(before: CpuSample, after: CpuSample, items: number): [string, number][] {
  return [...after]
    .map(([name, ms]): [string, number] => [name, (ms - (before.get(name) ?? 0)) / items])
    .filter(([, ms]) => ms >= 0.05)
    .sort((a, b) => b[1] - a[1]);
}
