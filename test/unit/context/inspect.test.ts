import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { Compression } from "../../../src/build/key.js";
import { inspectContext } from "../../../src/context/inspect.js";
import { gnuLongName, gzip, paxHeader, sampleContext, tarArchive } from "../../support/tar.js";

// What inspection accepts and reports. What it refuses, and why, is the
// hostile corpus (test/support/hostile-corpus.ts, run by hostile-corpus.test.ts).

function inspect(data: Buffer, options: { compression?: Compression; dockerfile?: string } = {}) {
  return inspectContext(Readable.from([data]), {
    compression: options.compression ?? "none",
    dockerfile: options.dockerfile ?? "Dockerfile",
    limits: { maxBytes: 1024 * 1024, maxEntries: 100 },
  });
}

describe("inspectContext", () => {
  it("accepts a gzip context with a Dockerfile and counts its entries and bytes", async () => {
    const result = await inspect(gzip(sampleContext()), { compression: "gzip" });
    expect(result).toEqual({ ok: true, value: { entries: 3, bytes: 90 } });
  });

  it("accepts a plain tar", async () => {
    expect((await inspect(sampleContext())).ok).toBe(true);
  });

  it("finds a Dockerfile at a nested path given in metadata", async () => {
    const data = tarArchive([{ path: "./docker/prod.Dockerfile", body: "FROM scratch\n" }]);
    expect((await inspect(data, { dockerfile: "docker/prod.Dockerfile" })).ok).toBe(true);
  });

  it("finds a Dockerfile whose path comes in a GNU long-name header", async () => {
    const path = `${"build/".repeat(30)}Dockerfile`;
    const data = tarArchive([gnuLongName(path), { path: path.slice(0, 99), body: "FROM scratch\n" }]);

    expect(await inspect(data, { dockerfile: path })).toMatchObject({ ok: true });
  });

  it("finds a Dockerfile whose path comes in a PAX header", async () => {
    const path = `${"build/".repeat(30)}Dockerfile`;
    const data = tarArchive([paxHeader({ path }), { path: "Dockerfile-short", body: "FROM scratch\n" }]);

    expect(await inspect(data, { dockerfile: path })).toMatchObject({ ok: true });
  });
});
