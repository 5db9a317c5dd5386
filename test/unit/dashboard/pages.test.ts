import { describe, expect, it } from "vitest";
import { statusHistory } from "../../../src/dashboard/build-page.js";
import { median, successByDay } from "../../../src/dashboard/charts.js";
import { escapeHtml } from "../../../src/dashboard/layout.js";
import { listHref, renderListPage } from "../../../src/dashboard/list-page.js";
import { recordFixture } from "../../support/record-fixture.js";

describe("a build's status history", () => {
  it("has one step per time the record holds, in the only order a build moves", () => {
    const record = recordFixture("FAILED", {
      uploadedAt: "2026-11-25T09:59:58Z",
      submittedAt: "2026-11-25T09:59:59Z",
      startedAt: "2026-11-25T10:00:03Z",
      finishedAt: "2026-11-25T10:01:00Z",
    });
    expect(statusHistory(record).map((s) => s.what)).toEqual(["uploaded", "QUEUED", "RUNNING", "FAILED"]);
  });

  it("stops where a queued build is, and calls a rejected upload's only step 'received'", () => {
    expect(statusHistory(recordFixture("QUEUED")).map((s) => s.what)).toEqual(["QUEUED"]);
    const rejected = recordFixture("REJECTED", { finishedAt: "2026-11-25T09:59:59Z" });
    expect(statusHistory(rejected).map((s) => s.what)).toEqual(["received", "REJECTED"]);
  });
});

describe("a repository's success per day", () => {
  const from = new Date("2026-11-20T12:00:00Z");
  const to = new Date("2026-11-22T12:00:00Z");
  const finished = (status: "SUCCEEDED" | "FAILED" | "REJECTED", finishedAt: string) =>
    recordFixture(status, { finishedAt, submittedAt: finishedAt });

  it("counts finished builds per UTC day of the range, leaving rejected uploads out", () => {
    const days = successByDay(
      [
        finished("SUCCEEDED", "2026-11-20T13:00:00Z"),
        finished("FAILED", "2026-11-20T14:00:00Z"),
        finished("REJECTED", "2026-11-21T01:00:00Z"),
        finished("SUCCEEDED", "2026-11-22T01:00:00Z"),
        recordFixture("RUNNING", { submittedAt: "2026-11-22T02:00:00Z" }),
      ],
      from,
      to,
    );
    expect(days).toEqual([
      { day: "2026-11-20", succeeded: 1, finished: 2 },
      { day: "2026-11-21", succeeded: 0, finished: 0 },
      { day: "2026-11-22", succeeded: 1, finished: 1 },
    ]);
  });

  it("takes the median of an odd and an even count, and of none", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
  });
});

describe("the list page", () => {
  it("keeps the filters in the links it makes, leaving empty ones out", () => {
    expect(listHref({ repository: "team/api", status: "" })).toBe("/?repository=team%2Fapi");
    expect(listHref({ status: "FAILED" }, { cursor: "abc" })).toBe("/?status=FAILED&cursor=abc");
    expect(listHref({})).toBe("/");
  });

  it("escapes what came from an upload, so a key cannot write markup", () => {
    const key = 'contexts/<script>alert("x")</script>.tar.gz';
    const record = recordFixture("REJECTED", { source: { bucket: "b", key }, reason: "<b>bad</b>" });
    const html = renderListPage({ title: "t", now: new Date(), filters: {}, records: [record] });
    expect(html).not.toContain("<script>alert");
    expect(html).toContain(escapeHtml(key));
    expect(html).toContain("&lt;b&gt;bad&lt;/b&gt;");
  });
});
