import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { Compression } from "../../../src/build/key.js";
import { inspectContext } from "../../../src/context/inspect.js";
import { gnuLongName, gzip, paxHeader, sampleContext, tarArchive } from "../../support/tar.js";

// What inspection accepts and reports. What it refuses, and why, is the
// hostile corpus (test/support/hostile-corpus.ts, run by hostile-corpus.test.ts).

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

function inspect(data: Buffer, options: { compression?: Compression; dockerfile?: string } = {}) {
  return inspectContext(Readable.from([data]), {
    compression: options.compression ?? "none",
    dockerfile: options.dockerfile ?? "Dockerfile",
    limits: { maxBytes: 1024 * 1024, maxEntries: 100 },
  });
}

describe("inspectContext", () => {
  it("accepts a gzip context with a Dockerfile, counts its entries and bytes, and hashes it and its Dockerfile", async () => {
    const upload = gzip(sampleContext());
    const result = await inspect(upload, { compression: "gzip" });
    const dockerfile = "FROM public.ecr.aws/docker/library/alpine:3.20\nCOPY app.txt /app.txt\n";
    expect(result).toEqual({
      ok: true,
      value: {
        entries: 3,
        bytes: 90,
        sha256: sha256(upload),
        dockerfile: { text: dockerfile, sha256: sha256(Buffer.from(dockerfile)) },
      },
    });
  });

  it("keeps the last Dockerfile of that name, as tar programs unpack it", async () => {
    const data = tarArchive([
      { path: "Dockerfile", body: "FROM first\n" },
      { path: "./Dockerfile", body: "FROM second\n" },
    ]);
    const result = await inspect(data);
    expect(result.ok && result.value.dockerfile.text).toBe("FROM second\n");
  });

  it("refuses a Dockerfile that is not UTF-8 text, or holds a NUL byte", async () => {
    const latin1 = tarArchive([{ path: "Dockerfile", body: Buffer.from([0x46, 0x52, 0x4f, 0x4d, 0x20, 0xe9, 0x0a]) }]);
    expect(await inspect(latin1)).toEqual({ ok: false, reason: 'the Dockerfile "Dockerfile" is not UTF-8 text' });
    const nul = tarArchive([{ path: "Dockerfile", body: "FROM scratch\0\n" }]);
    expect(await inspect(nul)).toEqual({ ok: false, reason: 'the Dockerfile "Dockerfile" holds a NUL byte' });
  });

  it("refuses a Dockerfile larger than 64 KiB, saying so", async () => {
    const data = tarArchive([{ path: "Dockerfile", body: `FROM scratch\n#${"x".repeat(64 * 1024)}\n` }]);
    expect(await inspect(data)).toEqual({
      ok: false,
      reason: 'the Dockerfile "Dockerfile" is 65551 bytes, more than the limit of 65536',
    });
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
