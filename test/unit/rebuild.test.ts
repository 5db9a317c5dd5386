import { describe, expect, it } from "vitest";
import { parseListQuery, parseTime } from "../../src/builds/query.js";
import { dayOf } from "../../src/rebuild/rebuild.js";

describe("dayOf", () => {
  it("is the UTC day of the event's time, so a redelivered event keeps its build id", () => {
    expect(dayOf(new Date("2026-11-24T23:59:59Z"))).toBe("20261124");
    expect(dayOf(new Date("2026-11-25T00:00:00Z"))).toBe("20261125");
  });
});

describe("list filters", () => {
  const now = new Date("2026-11-24T12:00:00Z");

  it("accepts ages and ISO times for since and until", () => {
    expect(parseTime("since", "12h", now)).toEqual({ ok: true, value: "2026-11-24T00:00:00.000Z" });
    expect(parseTime("since", "7d", now)).toEqual({ ok: true, value: "2026-11-17T12:00:00.000Z" });
    expect(parseTime("until", "2026-11-01T00:00:00Z", now)).toEqual({ ok: true, value: "2026-11-01T00:00:00.000Z" });
    expect(parseListQuery({ since: "2d", until: "1d" }, now)).toEqual({
      ok: true,
      value: { since: "2026-11-22T12:00:00.000Z", until: "2026-11-23T12:00:00.000Z" },
    });
  });

  it("names the bad filter", () => {
    expect(parseListQuery({ status: "DONE" }, now)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/status "DONE" is not one of/),
    });
    expect(parseListQuery({ limit: "0" }, now)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/limit "0"/),
    });
    expect(parseListQuery({ since: "yesterday" }, now)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/since "yesterday"/),
    });
    expect(parseListQuery({ until: "soon" }, now)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^until "soon" is neither/),
    });
    expect(parseListQuery({ since: "1d", until: "2d" }, now)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^until "2d" is before since "1d"/),
    });
  });

  it("normalises the status and keeps the rest", () => {
    expect(parseListQuery({ status: "failed", repository: "team/api", limit: "5" }, now)).toEqual({
      ok: true,
      value: { status: "FAILED", repository: "team/api", limit: 5 },
    });
  });
});
