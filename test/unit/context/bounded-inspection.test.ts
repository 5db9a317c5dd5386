import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { inspectContext } from "../../../src/context/inspect.js";
import { gzipStream, paxHeader, type TarEntrySpec, tarArchive, tarHeader } from "../../support/tar.js";

// The production defaults (CONTEXT_MAX_BYTES, CONTEXT_MAX_ENTRIES): the bounds must hold at these.
const GiB = 1024 ** 3;
const limits = { maxBytes: 2 * GiB, maxEntries: 100_000 };
const dockerfile: TarEntrySpec = { path: "Dockerfile", body: "FROM scratch\n" };

/**
 * Inspect a gzip stream, counting the compressed chunks it pulled from the
 * source. How long each takes is a benchmark's business (bench/inspection.ts):
 * here, that the work stops where it should.
 */
async function inspectCounted(chunks: Iterable<Buffer>, options: { maxBytes?: number } = {}) {
  let pulled = 0;
  const source = Readable.from(
    (function* () {
      for (const chunk of chunks) {
        pulled += 1;
        yield chunk;
      }
    })(),
  );
  const result = await inspectContext(source, {
    compression: "gzip",
    dockerfile: "Dockerfile",
    limits: { ...limits, maxBytes: options.maxBytes ?? limits.maxBytes },
  });
  return { result, pulled };
}

const reasonOf = (result: Awaited<ReturnType<typeof inspectContext>>) => (result.ok ? "(accepted)" : result.reason);

describe("inspectContext: bounded work and memory at the production limits, whatever the archive holds", () => {
  it("rejects a gzip bomb of zeros after the archive's end marker", async () => {
    // Prepare: 6 MB of gzip that inflates to 6 GiB, all of it after a valid archive.
    const bomb = gzipStream([tarArchive([dockerfile]), { zeros: 6 * GiB }]);
    const rssBefore = process.memoryUsage().rss;

    // Act
    const { result } = await inspectCounted(bomb);

    // Assess
    expect(reasonOf(result)).toBe(`the context unpacks to more than the limit of ${2 * GiB} bytes`);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(256 * 1024 ** 2);
  }, 60_000);

  it("rejects a gzip file of nothing but zeros", async () => {
    const { result } = await inspectCounted(gzipStream([{ zeros: 6 * GiB }]));

    expect(reasonOf(result)).toBe(`the context unpacks to more than the limit of ${2 * GiB} bytes`);
  }, 60_000);

  it("rejects an entry declaring more than the limit as soon as its header is read", async () => {
    const bomb = gzipStream([
      tarArchive([dockerfile], { endMarker: false }),
      tarHeader({ path: "zeros", size: 6 * GiB }),
      { zeros: 6 * GiB },
    ]);

    const { result, pulled } = await inspectCounted(bomb);

    expect(reasonOf(result)).toBe(`the context's files add up to more than the limit of ${2 * GiB} bytes`);
    // The 6 GiB body is about 6,000 chunks of compressed input: only the few the
    // pipeline's buffers hold ahead of the parser are ever read (about 100 idle, 200 on a busy machine).
    expect(pulled).toBeLessThan(600);
  }, 60_000);

  it("rejects a header declaring a size beyond any real file (base-256 encoded) without reading on", async () => {
    const bomb = gzipStream([tarHeader({ path: "zeros", size: 2 ** 50 }), { zeros: GiB }]);

    const { result, pulled } = await inspectCounted(bomb);

    expect(reasonOf(result)).toBe(`the context's files add up to more than the limit of ${2 * GiB} bytes`);
    expect(pulled).toBeLessThan(600);
  }, 60_000);

  it("accepts a context just under the limit", async () => {
    const size = GiB - 64 * 1024;
    const context = gzipStream([
      tarArchive([dockerfile], { endMarker: false }),
      tarHeader({ path: "zeros", size }),
      { zeros: size + 1024 },
    ]);

    const { result } = await inspectCounted(context, { maxBytes: GiB });

    expect(result).toEqual({
      ok: true,
      value: expect.objectContaining({ entries: 2, bytes: size + 13, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }),
    });
  }, 60_000);

  it("rejects one entry too many among 100,000", async () => {
    const thousand = tarArchive(
      Array.from({ length: 1000 }, (_, i) => ({ path: `src/${i}.ts`, body: "x" })),
      { endMarker: false },
    );
    const context = gzipStream([tarArchive([dockerfile], { endMarker: false }), { repeat: thousand, times: 101 }]);

    const { result } = await inspectCounted(context);

    expect(reasonOf(result)).toBe(`the context has more than the limit of ${limits.maxEntries} entries`);
  }, 60_000);

  it("rejects more extended headers than entries allowed", async () => {
    // Extended headers are not entries: unbounded, a stream of them would be parsed to the byte limit, 10 µs each.
    const pax = tarArchive([paxHeader({ comment: "x" })], { endMarker: false });
    const thousand = Buffer.concat(Array.from({ length: 1000 }, () => pax));
    const context = gzipStream([tarArchive([dockerfile], { endMarker: false }), { repeat: thousand, times: 2000 }]);

    const { result } = await inspectCounted(context);

    expect(reasonOf(result)).toBe(
      "the context archive has more extended headers (PAX records, GNU long names) than the limit of 100000 entries",
    );
  }, 60_000);

  it("rejects paths of 4 KB by the hundred thousand", async () => {
    // Each name is scanned character by character: their volume has a budget, 512 bytes per entry allowed.
    const deep = `${"dir/".repeat(1000)}file`;
    const thousand = tarArchive(
      Array.from({ length: 1000 }, () => [paxHeader({ path: deep }), { path: "file", body: "x" }]).flat(),
      { endMarker: false },
    );
    const context = gzipStream([tarArchive([dockerfile], { endMarker: false }), { repeat: thousand, times: 100 }]);

    const { result } = await inspectCounted(context);

    expect(reasonOf(result)).toBe(
      "the context's paths and extended headers add up to more than 51200000 bytes (512 for each of the 100000 entries allowed)",
    );
  }, 60_000);
});
