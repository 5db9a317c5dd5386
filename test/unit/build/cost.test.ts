import { describe, expect, it } from "vitest";
import { buildCost, quantityValue, sumCosts } from "../../../src/build/cost.js";

const PRICES = { vcpuHour: 0.04048, gibHour: 0.004445, currency: "USD" };

describe("quantityValue", () => {
  it.each([
    ["250m", 0.25],
    ["1", 1],
    ["1.5", 1.5],
    ["256Mi", 256 * 1024 ** 2],
    ["2Gi", 2 * 1024 ** 3],
    ["1G", 1e9],
    ["512k", 512_000],
  ])("%s is %d", (quantity, value) => {
    expect(quantityValue(quantity)).toBeCloseTo(value);
  });

  it("is NaN for what is not a quantity", () => {
    expect(quantityValue("two")).toBeNaN();
    expect(quantityValue("1Xi")).toBeNaN();
  });
});

describe("buildCost", () => {
  it("multiplies the requests by the running time, and prices the hours", () => {
    // 1 vCPU and 2 GiB for an hour: one vCPU-hour and two GiB-hours.
    expect(buildCost({ cpu: "1", memory: "2Gi" }, 3600, PRICES)).toEqual({
      vcpuSeconds: 3600,
      gibSeconds: 7200,
      estimate: 0.04937,
      currency: "USD",
    });
    expect(buildCost({ cpu: "250m", memory: "256Mi" }, 40, PRICES)).toEqual({
      vcpuSeconds: 10,
      gibSeconds: 10,
      estimate: 0.000125,
      currency: "USD",
    });
  });

  it("has no cost for requests it cannot read", () => {
    expect(buildCost({ cpu: "lots", memory: "2Gi" }, 10, PRICES)).toBeUndefined();
  });
});

describe("sumCosts", () => {
  it("adds the builds that have a cost and counts the others apart", () => {
    const a = buildCost({ cpu: "1", memory: "1Gi" }, 60, PRICES);
    const b = buildCost({ cpu: "2", memory: "4Gi" }, 30, PRICES);
    expect(sumCosts([{ cost: a }, { cost: undefined }, { cost: b }])).toEqual({
      builds: 2,
      withoutCost: 1,
      vcpuSeconds: 120,
      gibSeconds: 180,
      estimate: Math.round(((120 * 0.04048 + 180 * 0.004445) / 3600) * 1e6) / 1e6,
      currency: "USD",
    });
  });
});
