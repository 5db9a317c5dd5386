import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, posix } from "node:path";
import { promisify } from "node:util";
import { Parser, type ReadEntry } from "tar";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kanikoUntarBuild } from "../../../bed/build/components.js";
import { ensureGoBinaries } from "../../../bed/build/go.js";
import { cacheDir, readVersions } from "../../../bed/paths.js";
import { contextFormat } from "../../../src/build/key.js";
import { normalise } from "../../../src/context/archive-walk.js";
import { ARCHIVE_CASES } from "../../support/hostile-corpus.js";

const run = promisify(execFile);

/** What one path should hold once the archive is unpacked, as node-tar (the trigger's parser) read it. */
type Expected = { type: "file"; sha256: string } | { type: "symlink"; target: string } | { type: "dir" };

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/**
 * The tree node-tar's reading of `archive` describes: each path's last
 * entry wins, as tar unpacks it; a hard link holds what its target held
 * when the link was made.
 */
async function judgedTree(archive: Buffer): Promise<Map<string, Expected>> {
  const tree = new Map<string, Expected>();
  const bodies: Promise<void>[] = [];
  const parser = new Parser({
    onReadEntry: (entry: ReadEntry) => {
      const path = normalise(entry.path);
      const chunks: Buffer[] = [];
      entry.on("data", (chunk: Buffer) => chunks.push(chunk));
      bodies.push(
        new Promise((resolve) => {
          entry.on("end", () => {
            if (path === "." || path === "") return resolve();
            if (entry.type === "Directory") tree.set(path, { type: "dir" });
            else if (entry.type === "SymbolicLink") tree.set(path, { type: "symlink", target: entry.linkpath ?? "" });
            else if (entry.type === "Link") {
              const target = tree.get(normalise(entry.linkpath ?? ""));
              if (target) tree.set(path, target);
            } else tree.set(path, { type: "file", sha256: sha256(Buffer.concat(chunks)) });
            resolve();
          });
        }),
      );
    },
  });
  await new Promise<void>((resolve, reject) => {
    parser.on("end", resolve);
    parser.on("error", reject);
    parser.end(archive);
  });
  await Promise.all(bodies);
  return tree;
}

/** Every path under `root` (not following links), relative to it. */
function walk(root: string, dir = root, found: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    found.push(path.slice(root.length + 1));
    if (lstatSync(path).isDirectory()) walk(root, path, found);
  }
  return found;
}

/** What is on disk at `path` under `root`, looked up as a build's COPY would (links on the way followed). */
function onDisk(root: string, path: string): Expected | { type: "missing" | "other" } {
  const full = join(root, path);
  let stat: ReturnType<typeof lstatSync>;
  try {
    stat = lstatSync(full);
  } catch {
    return { type: "missing" };
  }
  if (stat.isSymbolicLink()) return { type: "symlink", target: readlinkSync(full) };
  if (stat.isDirectory()) return { type: "dir" };
  if (stat.isFile()) return { type: "file", sha256: sha256(readFileSync(full)) };
  return { type: "other" };
}

// kaniko unpacks gzip contexts itself (--context=tar://), with its own Go
// code (archive/tar, then its extraction rules). The trigger judged each
// context with node-tar: here every gzip archive of the hostile corpus that
// the trigger accepts is unpacked by kaniko's very function, built from the
// vendored kaniko source (bed/go/kaniko-untar), and what lands on disk must
// be what node-tar read: each judged path with its content or link target,
// nothing besides, and nothing outside the context directory.
describe("kaniko's unpacking of the gzip contexts the trigger accepts", () => {
  const gzipCases = ARCHIVE_CASES.filter((c) => "accepted" in c.expect && contextFormat(c.key)?.compression === "gzip");
  let untar = "";
  let scratch = "";

  beforeAll(async () => {
    const build = await kanikoUntarBuild(readVersions());
    const binaries = await ensureGoBinaries(build, cacheDir(), (line) =>
      process.stderr.write(`[kaniko-untar] ${line}\n`),
    );
    untar = binaries["kaniko-untar"] ?? "";
    scratch = mkdtempSync(join(tmpdir(), "dropbuild-kaniko-untar-"));
  }, 600_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("covers the corpus's accepted gzip archives", () => {
    expect(gzipCases.length).toBeGreaterThanOrEqual(15);
  });

  it.each(gzipCases)("$name", async ({ name, body }) => {
    const archive = body();
    const expected = await judgedTree(archive);
    const caseDir = mkdtempSync(join(scratch, "case-"));
    const file = join(caseDir, "context.tar.gz");
    writeFileSync(file, archive);
    const dest = join(caseDir, "buildcontext");
    await run(untar, [file, dest]);

    // Nothing was written beside the context directory.
    expect(readdirSync(caseDir).sort()).toEqual(["buildcontext", "context.tar.gz"]);
    const root = realpathSync(dest);
    // Each judged path holds what was judged (intermediate links resolved as a build would).
    for (const [path, want] of expected) {
      const got = onDisk(root, path);
      expect(got, `${name}: ${path}`).toEqual(want);
    }
    // And nothing else is there: every non-directory on disk is a judged path, found where it resolves.
    const judged = new Set(
      [...expected.keys()].map((path) => {
        const parent = dirname(join(root, path));
        try {
          return join(realpathSync(parent), posix.basename(path));
        } catch {
          return join(root, path);
        }
      }),
    );
    const extra = walk(root).filter((path) => {
      const full = join(root, path);
      return !lstatSync(full).isDirectory() && !judged.has(full);
    });
    expect(extra, name).toEqual([]);
  });
});
