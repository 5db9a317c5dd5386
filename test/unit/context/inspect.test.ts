import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { Compression } from "../../../src/build/key.js";
import { inspectContext } from "../../../src/context/inspect.js";
import { gzip, sampleContext, type TarEntrySpec, tarArchive } from "../../support/tar.js";

const limits = { maxBytes: 1024 * 1024, maxEntries: 100 };

function inspect(
  data: Buffer,
  options: { compression?: Compression; dockerfile?: string; maxEntries?: number; maxBytes?: number } = {},
) {
  return inspectContext(Readable.from([data]), {
    compression: options.compression ?? "none",
    dockerfile: options.dockerfile ?? "Dockerfile",
    limits: { maxBytes: options.maxBytes ?? limits.maxBytes, maxEntries: options.maxEntries ?? limits.maxEntries },
  });
}

const withDockerfile = (...entries: TarEntrySpec[]) =>
  tarArchive([{ path: "Dockerfile", body: "FROM scratch\n" }, ...entries]);

async function reasonFor(data: Buffer, options: Parameters<typeof inspect>[1] = {}) {
  const result = await inspect(data, options);
  expect(result.ok).toBe(false);
  return result.ok ? "" : result.reason;
}

describe("inspectContext", () => {
  it("accepts a gzip context with a Dockerfile and counts its entries and bytes", async () => {
    const result = await inspect(gzip(sampleContext()), { compression: "gzip" });
    expect(result).toEqual({ ok: true, value: { entries: 3, bytes: expect.any(Number) } });
  });

  it("accepts a plain tar", async () => {
    expect((await inspect(sampleContext())).ok).toBe(true);
  });

  it("finds a Dockerfile at a nested path given in metadata", async () => {
    const data = tarArchive([{ path: "./docker/prod.Dockerfile", body: "FROM scratch\n" }]);
    expect((await inspect(data, { dockerfile: "docker/prod.Dockerfile" })).ok).toBe(true);
  });

  it("accepts links that stay inside the context", async () => {
    const data = withDockerfile(
      { path: "lib/real.txt", body: "x" },
      { path: "lib/alias", type: "SymbolicLink", linkpath: "real.txt" },
      { path: "bin/up", type: "SymbolicLink", linkpath: "../lib/real.txt" },
      { path: "copy.txt", type: "Link", linkpath: "lib/real.txt" },
    );
    expect((await inspect(data)).ok).toBe(true);
  });

  it("rejects a context whose Dockerfile is missing, naming what it found", async () => {
    const data = tarArchive([{ path: "build/Dockerfile", body: "FROM scratch\n" }]);
    expect(await reasonFor(data)).toBe(
      'no Dockerfile at "Dockerfile" in the context (found build/Dockerfile; set the dockerfile metadata)',
    );
  });

  it("rejects data that is not gzip although the key says .tar.gz", async () => {
    expect(await reasonFor(Buffer.from("this is not an archive at all"), { compression: "gzip" })).toMatch(
      /not gzip-compressed/,
    );
  });

  it("rejects gzip data that turns corrupt partway, saying so rather than that it is not gzip", async () => {
    const whole = gzip(withDockerfile({ path: "big.bin", body: Buffer.alloc(200_000, 7) }));
    const corrupt = Buffer.concat([
      whole,
      Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
    ]);
    expect(await reasonFor(corrupt, { compression: "gzip" })).toMatch(/^the context's gzip data is corrupt \(/);
  });

  it("rejects gzip data named .tar", async () => {
    expect(await reasonFor(gzip(sampleContext()))).toMatch(/gzip-compressed but its key ends in \.tar/);
  });

  it("rejects bytes that are not a tar archive", async () => {
    expect(await reasonFor(gzip(Buffer.from("plain text, gzipped\n".repeat(100))), { compression: "gzip" })).toMatch(
      /not a (valid )?tar archive|corrupt/,
    );
  });

  it("rejects an empty archive", async () => {
    expect(await reasonFor(gzip(Buffer.alloc(0)), { compression: "gzip" })).toMatch(/the context is empty/);
  });

  it.each([
    ["an end marker alone", tarArchive([])],
    ["a whole empty record, as GNU tar writes it", Buffer.alloc(10_240)],
  ])("rejects an empty tar archive (%s) by saying the Dockerfile is missing", async (_name, empty) => {
    expect(await reasonFor(gzip(empty), { compression: "gzip" })).toBe(
      'no Dockerfile at "Dockerfile" in the context (the archive holds no files)',
    );
  });

  it("rejects a truncated gzip stream", async () => {
    const whole = gzip(withDockerfile({ path: "big.bin", body: Buffer.alloc(200_000, 7) }));
    expect(await reasonFor(whole.subarray(0, whole.length - 20), { compression: "gzip" })).toMatch(/truncated/);
  });

  it("rejects a tar cut in the middle of a file", async () => {
    const whole = withDockerfile({ path: "big.bin", body: Buffer.alloc(10_000, 7) });
    expect(await reasonFor(whole.subarray(0, 4096))).toMatch(/truncated/);
  });

  it.each([
    ["an absolute path", { path: "/etc/passwd", body: "x" }, /absolute path/],
    ["a .. path", { path: "app/../../etc/passwd", body: "x" }, /"\.\." path/],
    ["a symlink to an absolute path", { path: "etc", type: "SymbolicLink", linkpath: "/etc" }, /absolute path "\/etc"/],
    [
      "a symlink climbing out",
      { path: "a/b/link", type: "SymbolicLink", linkpath: "../../../secret" },
      /symlink .* outside/,
    ],
    ["a hard link climbing out", { path: "h", type: "Link", linkpath: "../outside" }, /hard link .* outside/],
    ["a character device", { path: "dev/null", type: "CharacterDevice" }, /character device/],
    ["a block device", { path: "dev/sda", type: "BlockDevice" }, /block device/],
    ["a fifo", { path: "pipe", type: "FIFO" }, /a fifo/],
  ] as [string, TarEntrySpec, RegExp][])("rejects a context holding %s", async (_name, entry, reason) => {
    expect(await reasonFor(withDockerfile(entry))).toMatch(reason);
  });

  it("rejects a context with more entries than the limit", async () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ path: `f${i}.txt`, body: "x" }));
    expect(await reasonFor(withDockerfile(...many), { maxEntries: 10 })).toBe(
      "the context has more than the limit of 10 entries",
    );
  });

  it("rejects a context whose files add up to more than the byte limit", async () => {
    const data = withDockerfile({ path: "blob", body: Buffer.alloc(5000) });
    expect(await reasonFor(data, { maxBytes: 4096 })).toMatch(/more than the limit of 4096 bytes/);
  });

  it("stops reading a gzip bomb at the byte limit", async () => {
    // 50 MB of zeros compresses to ~50 KB; the inspector must stop long before inflating it all.
    const bomb = gzip(withDockerfile({ path: "zeros", body: Buffer.alloc(50 * 1024 * 1024) }));
    expect(await reasonFor(bomb, { compression: "gzip", maxBytes: 1024 * 1024 })).toMatch(/more than the limit/);
  });
});
