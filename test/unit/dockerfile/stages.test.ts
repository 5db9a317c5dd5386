// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile variables, written as a Dockerfile has them
import { describe, expect, it } from "vitest";
import { expand, rewriteSpans, stageBases } from "../../../src/dockerfile/stages.js";

const images = (text: string, args: Record<string, string> = {}, target?: string) => {
  const result = stageBases(text, args, target);
  if (!result.ok) throw new Error(result.reason);
  return result.value.map((s) => (s.kind === "image" ? s.image : `${s.kind}:${s.written}`));
};

describe("stageBases", () => {
  it("lists each stage's base: images, earlier stages and scratch", () => {
    const text = [
      "# syntax=docker/dockerfile:1",
      "FROM golang:1.26 AS build",
      "RUN go build",
      "FROM --platform=linux/amd64 build AS test",
      "FROM scratch",
      "COPY --from=build /out /",
    ].join("\n");
    expect(images(text)).toEqual(["golang:1.26", "stage:build", "scratch:scratch"]);
  });

  it("expands the ARGs declared before the first FROM, a build arg winning over a default", () => {
    const text = "ARG REGISTRY=docker.io\nARG TAG=1.35\nARG IMAGE=$REGISTRY/library/busybox:${TAG}\nFROM ${IMAGE}\n";
    expect(images(text)).toEqual(["docker.io/library/busybox:1.35"]);
    expect(images(text, { TAG: "1.37" })).toEqual(["docker.io/library/busybox:1.37"]);
    expect(images(text, { IMAGE: "alpine:3" })).toEqual(["alpine:3"]);
  });

  it("ignores build args for ARGs not declared before the FROM, and expands undeclared ones to nothing", () => {
    expect(images("FROM busybox${SUFFIX}\n", { SUFFIX: ":x" })).toEqual(["busybox"]);
    expect(images("FROM alpine\nARG LATE=1\nFROM debian:${LATE:-12}\n")).toEqual(["alpine", "debian:12"]);
  });

  it("matches stage names regardless of case", () => {
    expect(images("FROM alpine AS Base\nFROM base\n")).toEqual(["alpine", "stage:base"]);
  });

  it("stops at the target stage and refuses a target no FROM names", () => {
    const text = "FROM alpine AS one\nFROM debian AS two\nFROM ubuntu AS three\n";
    expect(images(text, {}, "two")).toEqual(["alpine", "debian"]);
    expect(stageBases(text, {}, "four")).toEqual({
      ok: false,
      reason: 'the target stage "four" is not named by any FROM … AS in the Dockerfile',
    });
  });

  it("refuses a Dockerfile without FROM, and a FROM whose image expands to nothing", () => {
    expect(stageBases("RUN true\n", {})).toEqual({ ok: false, reason: "the Dockerfile has no FROM instruction" });
    const empty = stageBases("ARG BASE\nFROM $BASE\n", {});
    expect(empty.ok ? "" : empty.reason).toMatch(/line 2 .* names no image \(\$BASE is empty\)/);
  });

  it("refuses more stages than it resolves and records", () => {
    const text = Array.from({ length: 51 }, (_, i) => `FROM alpine AS s${i}`).join("\n");
    expect(stageBases(text, {})).toEqual({
      ok: false,
      reason: "the Dockerfile has 51 stages, more than the limit of 50",
    });
  });

  it("rewrites only the image of each FROM, keeping every other byte", () => {
    const text = "FROM  busybox:1.35   AS base\r\nRUN echo FROM busybox:1.35\r\nFROM base\r\n";
    const result = stageBases(text, {});
    if (!result.ok) throw new Error(result.reason);
    const [first] = result.value;
    if (first?.kind !== "image") throw new Error("expected an image");
    expect(text.slice(first.span.start, first.span.end)).toBe("busybox:1.35");
    const pinned = rewriteSpans(text, [{ span: first.span, text: "busybox:1.35@sha256:abc" }]);
    expect(pinned).toBe("FROM  busybox:1.35@sha256:abc   AS base\r\nRUN echo FROM busybox:1.35\r\nFROM base\r\n");
  });
});

describe("expand", () => {
  const values = new Map([
    ["SET", "x"],
    ["EMPTY", ""],
  ]);
  it.each([
    ["$SET", "x"],
    ["${SET}y", "xy"],
    ["${UNSET:-d}", "d"],
    ["${EMPTY:-d}", "d"],
    ["${EMPTY-d}", ""],
    ["${SET:+alt}", "alt"],
    ["${EMPTY:+alt}", ""],
    ["${EMPTY+alt}", "alt"],
    ["${UNSET+alt}", ""],
  ])("%s → %s", (text, expected) => {
    expect(expand(text, values)).toEqual({ ok: true, value: expected });
  });

  it("refuses forms it cannot resolve, naming them", () => {
    expect(expand("${SET#x}", values)).toEqual({
      ok: false,
      reason: "the substitution ${SET#x} is not one dropbuild can resolve",
    });
  });
});
