import type { BuildRecord } from "./record.js";

/** What a build's requests cost while it ran: resource-seconds, and an estimate in money. */
export interface BuildCost {
  /** Requested vCPUs × running seconds. */
  vcpuSeconds: number;
  /** Requested memory in GiB × running seconds. */
  gibSeconds: number;
  /** vCPU-hours and GiB-hours at the configured prices. */
  estimate: number;
  currency: string;
}

/** BUILD_PRICE_VCPU_HOUR, BUILD_PRICE_GIB_HOUR and BUILD_PRICE_CURRENCY. */
export interface CostPrices {
  vcpuHour: number;
  gibHour: number;
  currency: string;
}

/** The requests a build's kaniko container was created with, as Kubernetes quantities. */
export interface BuildRequests {
  cpu: string;
  memory: string;
}

const SUFFIX: Record<string, number> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** The Kubernetes quantities dropbuild accepts (BUILD_CPU_REQUEST and the like): a number and a suffix. */
export const QUANTITY = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/;

/** A Kubernetes quantity as a number ("250m" → 0.25, "2Gi" → 2147483648); NaN when it is not one. */
export function quantityValue(quantity: string): number {
  const match = QUANTITY.exec(quantity.trim());
  if (!match) return Number.NaN;
  return Number(match[1]) * (SUFFIX[match[2] ?? ""] ?? Number.NaN);
}

const round = (value: number, places: number) => Math.round(value * 10 ** places) / 10 ** places;

/**
 * What a build cost: its requests (what the scheduler set aside for it,
 * whatever it used) for as long as it ran, from its pod's start to its end.
 * An estimate: what a node costs depends on how the cluster buys it; the
 * prices default to Fargate's on-demand Linux/x86 rates in us-east-1.
 */
export function buildCost(requests: BuildRequests, seconds: number, prices: CostPrices): BuildCost | undefined {
  const vcpus = quantityValue(requests.cpu);
  const gib = quantityValue(requests.memory) / 1024 ** 3;
  if (!Number.isFinite(vcpus) || !Number.isFinite(gib) || !(seconds >= 0)) return undefined;
  const vcpuSeconds = vcpus * seconds;
  const gibSeconds = gib * seconds;
  const estimate = (vcpuSeconds * prices.vcpuHour + gibSeconds * prices.gibHour) / 3600;
  return {
    vcpuSeconds: round(vcpuSeconds, 3),
    gibSeconds: round(gibSeconds, 3),
    estimate: round(estimate, 6),
    currency: prices.currency,
  };
}

/** Costs summed over builds (those with a cost; the others are counted apart). */
export interface CostTotals {
  builds: number;
  /** Builds in the range that ran no pod, or finished before costs were recorded. */
  withoutCost: number;
  vcpuSeconds: number;
  gibSeconds: number;
  estimate: number;
  currency?: string;
}

export function sumCosts(records: Pick<BuildRecord, "cost">[]): CostTotals {
  const totals: CostTotals = { builds: 0, withoutCost: 0, vcpuSeconds: 0, gibSeconds: 0, estimate: 0 };
  for (const { cost } of records) {
    if (!cost) {
      totals.withoutCost += 1;
      continue;
    }
    totals.builds += 1;
    totals.vcpuSeconds += cost.vcpuSeconds;
    totals.gibSeconds += cost.gibSeconds;
    totals.estimate += cost.estimate;
    totals.currency ??= cost.currency;
  }
  return {
    ...totals,
    vcpuSeconds: round(totals.vcpuSeconds, 3),
    gibSeconds: round(totals.gibSeconds, 3),
    estimate: round(totals.estimate, 6),
  };
}
