import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { inspectContext } from "../../../src/context/inspect.js";
import { gnuLongName, gzip, paxHeader, type TarEntrySpec, tarArchive } from "../../support/tar.js";

const dockerfile: TarEntrySpec = { path: "Dockerfile", body: "FROM scratch\n" };

function inspect(data: Buffer, options: { compression?: "gzip" | "none"; dockerfile?: string } = {}) {
  return inspectContext(Readable.from([data]), {
    compression: options.compression ?? "none",
    dockerfile: options.dockerfile ?? "Dockerfile",
    limits: { maxBytes: 64 * 1024 * 1024, maxEntries: 1000 },
  });
}

async function reasonFor(entries: TarEntrySpec[]) {
  const result = await inspect(tarArchive([dockerfile, ...entries]));
  return result.ok ? "(accepted)" : result.reason;
}

describe("inspectContext: long names and tar extensions", () => {
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

  it("judges the path a PAX header gives, not the one in the plain header", async () => {
    expect(await reasonFor([paxHeader({ path: "../../etc/cron.d/job" }), { path: "innocent", body: "x" }])).toBe(
      'entry "../../etc/cron.d/job" has a ".." path that leaves the context',
    );
  });

  it("judges the link target a GNU long-link header gives", async () => {
    const target = `${"../".repeat(40)}etc/shadow`;
    const entries: TarEntrySpec[] = [
      { path: "././@LongLink", type: "NextFileHasLongLinkpath", body: `${target}\0` },
      { path: "creds", type: "SymbolicLink", linkpath: "short" },
    ];
    expect(await reasonFor(entries)).toMatch(/^symlink "creds" points outside the context/);
  });

  it("accepts paths nested a thousand deep, within the 4096 bytes Linux allows", async () => {
    expect(await reasonFor([paxHeader({ path: `${"d/".repeat(1000)}f` }), { path: "f", body: "x" }])).toBe(
      "(accepted)",
    );
  });

  it("rejects a path longer than Linux can create", async () => {
    expect(await reasonFor([paxHeader({ path: `${"d/".repeat(2100)}f` }), { path: "f", body: "x" }])).toMatch(
      /has a path of 4201 bytes, longer than the 4096 a Linux path may hold$/,
    );
  });

  it("rejects a name longer than 255 bytes, counting UTF-8 bytes", async () => {
    expect(await reasonFor([paxHeader({ path: `ok/${"é".repeat(120)}` }), { path: "f", body: "x" }])).toBe(
      "(accepted)",
    );
    expect(await reasonFor([paxHeader({ path: `ok/${"日".repeat(100)}` }), { path: "f", body: "x" }])).toMatch(
      /has a name of 300 bytes, longer than the 255 a file name may hold$/,
    );
  });

  it("rejects an extended header larger than any name needs", async () => {
    expect(await reasonFor([paxHeader({ comment: "x".repeat(70_000) }), { path: "f", body: "x" }])).toMatch(
      /^the context archive has an extended header of 70\d\d\d bytes \("PaxHeader\/entry"\); at most 65536 are accepted$/,
    );
  });

  it("rejects an old GNU sparse file", async () => {
    expect(await reasonFor([{ path: "disk.img", type: "SparseFile", body: "x" }])).toBe(
      'entry "disk.img" is a sparse file (tar --sparse), which the build\'s unpack step cannot restore; pack the context without --sparse',
    );
  });

  it("rejects a PAX sparse file (GNU tar --sparse --format=pax)", async () => {
    const records = { "GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "disk.img" };
    expect(await reasonFor([paxHeader(records), { path: "GNUSparseFile.0/disk.img", body: "1\n0\n1\n" }])).toMatch(
      /^entry "GNUSparseFile.0\/disk.img" is a sparse file/,
    );
  });

  it("rejects a GNU dump directory, which is not a plain directory", async () => {
    expect(await reasonFor([{ path: "dump", type: "GNUDumpDir", body: "x" }])).toBe(
      'entry "dump" has unsupported type GNUDumpDir',
    );
  });

  it("rejects a context gzip-compressed twice, which the tar parser would inflate unmetered", async () => {
    const result = await inspect(gzip(gzip(tarArchive([dockerfile]))), { compression: "gzip" });

    expect(result).toEqual({
      ok: false,
      reason: "the context is gzip-compressed twice; upload the .tar.gz itself, not a gzip of it",
    });
  });
});

describe("inspectContext: links judged against what the archive made before them", () => {
  it("rejects a symlink that goes down and back up, through what may be another link", async () => {
    const entries: TarEntrySpec[] = [
      { path: "a/b/l", type: "SymbolicLink", linkpath: "../.." },
      { path: "m", type: "SymbolicLink", linkpath: "a/b/l/.." },
    ];
    expect(await reasonFor(entries)).toMatch(/^symlink "m" points to "a\/b\/l\/..", which goes back up/);
  });

  it("rejects an entry written through a symlink", async () => {
    const entries: TarEntrySpec[] = [
      { path: "a", type: "SymbolicLink", linkpath: "." },
      { path: "a/l", type: "SymbolicLink", linkpath: "../x" },
    ];
    expect(await reasonFor(entries)).toBe(
      'entry "a/l" lies inside "a", which is a symlink: unpacking would write wherever that link leads',
    );
  });

  it("rejects a hard link to a symlink, which would read the link's target from elsewhere", async () => {
    const entries: TarEntrySpec[] = [
      { path: "d/l", type: "SymbolicLink", linkpath: "../x" },
      { path: "h", type: "Link", linkpath: "d/l" },
    ];
    expect(await reasonFor(entries)).toBe(
      'hard link "h" points to "d/l", which is not a regular file earlier in the context',
    );
  });

  it("rejects a hard link to a file a duplicate entry turned into a symlink", async () => {
    const entries: TarEntrySpec[] = [
      { path: "d/f", body: "x" },
      { path: "d/f", type: "SymbolicLink", linkpath: "../x" },
      { path: "h", type: "Link", linkpath: "./d/f" },
    ];
    expect(await reasonFor(entries)).toMatch(/^hard link "h" points to "d\/f", which is not a regular file/);
  });

  it.each([
    ["a directory", [{ path: "d", type: "Directory" }]],
    ["nothing", []],
  ] as [string, TarEntrySpec[]][])("rejects a hard link to %s", async (_name, before) => {
    expect(await reasonFor([...before, { path: "h", type: "Link", linkpath: "d" }])).toMatch(
      /^hard link "h" points to "d", which is not a regular file earlier in the context$/,
    );
  });

  it("accepts duplicates, chains of hard links and symlink loops, which unpack harmlessly", async () => {
    const entries: TarEntrySpec[] = [
      { path: "f", body: "one" },
      { path: "f", body: "two" },
      { path: "g", type: "Link", linkpath: "f" },
      { path: "h", type: "Link", linkpath: "g" },
      { path: "loop/a", type: "SymbolicLink", linkpath: "b" },
      { path: "loop/b", type: "SymbolicLink", linkpath: "a" },
      { path: "up/here", type: "SymbolicLink", linkpath: "../f" },
    ];
    expect(await reasonFor(entries)).toBe("(accepted)");
  });
});
