/**
 * Worst-case context inspection: the contexts that cost the trigger's
 * inspection (src/context/inspect.ts, the function the trigger calls) the
 * most per compressed byte, at the production limits (CONTEXT_MAX_BYTES
 * 2 GiB, CONTEXT_MAX_ENTRIES 100,000), each written to a .tar.gz of a few
 * compressed sizes and read back in 16 KiB chunks, as an S3 body arrives.
 * Each inspection runs in a fresh process, so its peak RSS is its own. The
 * peers read the same files: `gzip -t` (inflating alone) and `tar -tzf`
 * (GNU tar listing it), both without any limit.
 *
 * Cases:
 *   ratio bomb      a valid archive, then zeros after its end marker at
 *                   deflate's best ratio (about 1000:1): metered up to the
 *                   2 GiB limit, since busybox tar, the unpack step,
 *                   inflates it all (GNU tar, the peer, stops at the marker)
 *   declared size   a header declaring 6 GiB, then zeros
 *   tiny entries    empty files, one 512-byte header each (~20 bytes compressed)
 *   empty headers   PAX headers of size 0, which node-tar skips without a word
 *   long names      a PAX header with a 4 KB path before every entry
 *   PAX-heavy       PAX headers of 64 KiB of 9-byte records
 *   all budgets     99,998 tiny entries, then 99,000 empty headers, then a
 *                   ratio bomb: every budget spent before the byte limit
 *   low ratio       files of data that deflates 2:1 (4 bits in a byte): the
 *                   one kind whose cost grows with the compressed size,
 *                   since only it needs hundreds of MB to reach the limit;
 *                   also measured at 250 MB
 */
import { execFile } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { repoRoot } from "../bed/paths.js";
import { inspectContext } from "../src/context/inspect.js";
import { paxHeader, tarArchive, tarHeader } from "../test/support/tar.js";

const run = promisify(execFile);
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** The production defaults (src/config.ts). */
export const PRODUCTION_LIMITS = { maxBytes: 2 * GiB, maxEntries: 100_000 };
/** How long an over-limit context may take to be rejected. */
export const BOUND_SECONDS = 5;
const S3_CHUNK = 16 * 1024;
const PEER_TIMEOUT_MS = 30_000;

type Tar = Generator<Buffer>;
const dockerfile = () => tarArchive([{ path: "Dockerfile", body: "FROM scratch\n" }], { endMarker: false });
const forever = function* (make: (i: number) => Buffer): Tar {
  for (let i = 0; ; i++) yield make(i);
};
/** `count` blocks made by `make`, joined in batches (a Buffer per header would be slow to write). */
function* batched(count: number, make: (i: number) => Buffer): Tar {
  for (let i = 0; i < count; i += 1000) {
    yield Buffer.concat(Array.from({ length: Math.min(1000, count - i) }, (_, j) => make(i + j)));
  }
}
const tinyEntry = (i: number) => tarHeader({ path: `src/${i.toString(36).padStart(6, "0")}.ts` });
const emptyPax = tarHeader({ path: "PaxHeader/x", type: "ExtendedHeader", size: 0 });
const zeros = Buffer.alloc(MiB);
/** 1 MiB of bytes drawn from 16 values: about 2:1 under deflate. */
const halfEntropy = (seed: number) => {
  const data = Buffer.alloc(MiB);
  let x = (seed + 1) * 2654435761;
  for (let i = 0; i < data.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    data[i] = 0x41 + ((x >>> 24) & 15);
  }
  return data;
};
const lowRatioData = Array.from({ length: 8 }, (_, i) => halfEntropy(i));

/** Compressed MB a case is also measured at, beyond the bench's sizes. */
const LOW_RATIO_EXTRA_MB = 250;

export const CASES: { name: string; tar: () => Tar; extraSizesMb?: number[] }[] = [
  {
    name: "ratio bomb",
    *tar() {
      yield tarArchive([{ path: "Dockerfile", body: "FROM scratch\n" }]);
      yield* forever(() => zeros);
    },
  },
  {
    name: "declared size",
    *tar() {
      yield dockerfile();
      yield tarHeader({ path: "zeros", size: 6 * GiB });
      yield* forever(() => zeros);
    },
  },
  {
    name: "tiny entries",
    *tar() {
      yield dockerfile();
      yield* batched(Number.MAX_SAFE_INTEGER, tinyEntry);
    },
  },
  {
    name: "empty headers",
    *tar() {
      yield dockerfile();
      const thousand = Buffer.concat(Array.from({ length: 1000 }, () => emptyPax));
      yield* forever(() => thousand);
    },
  },
  {
    name: "long names",
    *tar() {
      yield dockerfile();
      yield* forever((i) =>
        tarArchive([paxHeader({ path: `${"d/".repeat(1990)}${i}` }), { path: "f" }], { endMarker: false }),
      );
    },
  },
  {
    name: "PAX-heavy",
    *tar() {
      yield dockerfile();
      const records = "9 uid=10\n".repeat(Math.floor(65_536 / 9));
      const header = tarArchive([{ path: "PaxHeader/x", type: "ExtendedHeader", body: records }], { endMarker: false });
      yield* forever(() => header);
    },
  },
  {
    name: "all budgets",
    *tar() {
      yield dockerfile();
      yield* batched(PRODUCTION_LIMITS.maxEntries - 2, tinyEntry);
      const thousand = Buffer.concat(Array.from({ length: 1000 }, () => emptyPax));
      for (let i = 0; i < 99; i++) yield thousand;
      yield Buffer.alloc(1024);
      yield* forever(() => zeros);
    },
  },
  {
    name: "low ratio",
    // The one case whose cost grows with its size: measured nearer to where it would pass the limit.
    extraSizesMb: [LOW_RATIO_EXTRA_MB],
    *tar() {
      yield dockerfile();
      yield* forever((i) =>
        Buffer.concat([tarHeader({ path: `blob${i}`, size: MiB }), lowRatioData[i % lowRatioData.length] as Buffer]),
      );
    },
  },
];

/**
 * Write `tar` as gzip until the file holds `bytes` compressed, in gzip
 * members (RFC 1952 allows many; every gunzip joins them) of about 1 MiB of
 * tar each, so the deflate window spans what it would in one stream; a
 * chunk yielded again (the same Buffer) is compressed only once, so a file
 * inflating to 25 GB takes seconds to make. Level 6, as `tar -czf` uses.
 */
async function writeGzip(path: string, tar: Tar, bytes: number): Promise<{ compressed: number; tarBytes: number }> {
  const repeated = new WeakMap<Buffer, Buffer>();
  const seen = new WeakSet<Buffer>();
  const out = createWriteStream(path);
  let compressed = 0;
  let tarBytes = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const write = async (member: Buffer) => {
    compressed += member.length;
    if (!out.write(member)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
  };
  const flush = async () => {
    if (pendingBytes > 0) await write(gzipSync(Buffer.concat(pending)));
    pending = [];
    pendingBytes = 0;
  };
  for (const chunk of tar) {
    if (compressed >= bytes) break;
    tarBytes += chunk.length;
    const cached = repeated.get(chunk);
    if (cached || seen.has(chunk)) {
      await flush();
      const member = cached ?? gzipSync(chunk);
      repeated.set(chunk, member);
      await write(member);
      continue;
    }
    seen.add(chunk);
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= MiB) await flush();
  }
  await flush();
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return { compressed: (await stat(path)).size, tarBytes };
}

export interface InspectionRun {
  ms: number;
  reason: string;
  maxRssMb: number;
}

/** In a child process (BENCH_INSPECTION_FILE set): inspect the file, print the figures. */
async function child(file: string): Promise<void> {
  const started = performance.now();
  const result = await inspectContext(createReadStream(file, { highWaterMark: S3_CHUNK }), {
    compression: "gzip",
    dockerfile: "Dockerfile",
    limits: PRODUCTION_LIMITS,
  });
  const figures: InspectionRun = {
    ms: performance.now() - started,
    reason: result.ok ? `accepted: ${result.value.entries} entries` : result.reason,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

async function inspectInChild(file: string): Promise<InspectionRun> {
  const { stdout } = await run(
    process.execPath,
    [join(repoRoot, "node_modules", "tsx", "dist", "cli.mjs"), join(repoRoot, "bench", "inspection.ts")],
    { env: { ...process.env, BENCH_INSPECTION_FILE: file }, maxBuffer: 1024 * 1024 },
  );
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as InspectionRun;
}

/** Wall time of a peer command on the file, or undefined when it ran out of time. */
async function peerMs(command: string, args: string[]): Promise<number | undefined> {
  const started = performance.now();
  try {
    await run(command, args, { timeout: PEER_TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024 });
  } catch (error: unknown) {
    if ((error as { killed?: boolean }).killed) return undefined;
    // A listing that ends in an error still read what it read (a bomb's zeros are no tar).
  }
  return performance.now() - started;
}

export interface InspectionFigure extends InspectionRun {
  name: string;
  /** The file's compressed size. */
  compressedMb: number;
  /** What it inflates to, in full. */
  tarMb: number;
  /** Inspection time per compressed MB (10^6 bytes). */
  msPerMb: number;
  /** The context was over a limit and rejected. */
  rejected: boolean;
  gzipMs?: number;
  tarMs?: number;
}

/** Every case at every compressed size (MB, 10^6 bytes). */
export async function inspectionBench(
  sizesMb: number[],
  progress: (line: string) => void = () => {},
): Promise<InspectionFigure[]> {
  const dir = await mkdtemp(join(tmpdir(), "dropbuild-inspection-"));
  const figures: InspectionFigure[] = [];
  try {
    for (const c of CASES) {
      for (const size of [...sizesMb, ...(c.extraSizesMb ?? [])]) {
        const file = join(dir, `${c.name.replaceAll(/\W+/g, "-")}-${size}.tar.gz`);
        const { compressed, tarBytes } = await writeGzip(file, c.tar(), size * 1e6);
        const inspection = await inspectInChild(file);
        const gzipMs = await peerMs("gzip", ["-t", file]);
        const tarMs = await peerMs("tar", ["-tzf", file]);
        const figure: InspectionFigure = {
          name: c.name,
          compressedMb: compressed / 1e6,
          tarMb: tarBytes / 1e6,
          ...inspection,
          msPerMb: inspection.ms / (compressed / 1e6),
          rejected: !inspection.reason.startsWith("accepted"),
          gzipMs,
          tarMs,
        };
        figures.push(figure);
        progress(
          `inspection ${c.name} ${figure.compressedMb.toFixed(1)} MB (${figure.tarMb.toFixed(0)} MB tar): ${figure.ms.toFixed(0)} ms, ${figure.maxRssMb.toFixed(0)} MB RSS; gzip -t ${peer(gzipMs)}, tar -tzf ${peer(tarMs)}; ${figure.reason.slice(0, 100)}`,
        );
        await rm(file, { force: true });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return figures;
}

const f = (n: number, digits = 0) => n.toFixed(digits);
const peer = (ms: number | undefined) => (ms === undefined ? `> ${PEER_TIMEOUT_MS / 1000} s` : `${f(ms)} ms`);

/** The bench's table rows (figure | result | goal | verdict), from every case at every size. */
export async function inspectionRows(sizesMb: number[], progress: (line: string) => void): Promise<string[]> {
  const figures = await inspectionBench(sizesMb, progress);
  const rows: string[] = [];
  for (const c of CASES) {
    const runs = figures.filter((x) => x.name === c.name);
    const largest = runs.at(-1);
    if (!largest) continue;
    const times = runs.map((x) => `${f(x.compressedMb, 1)} MB ${f(x.ms)} ms`).join(", ");
    const outcome = largest.rejected
      ? `rejected: ${largest.reason.replace(/ \(.*$/, "").slice(0, 70)}`
      : largest.reason;
    rows.push(
      `| inspection: ${c.name} | ${times}; at ${f(largest.compressedMb, 1)} MB: ${f(largest.msPerMb, 1)} ms per compressed MB, peak RSS ${f(Math.max(...runs.map((x) => x.maxRssMb)))} MB; peers gzip -t ${peer(largest.gzipMs)}, tar -tzf ${peer(largest.tarMs)}; ${outcome} | | |`,
    );
  }
  const rejected = figures.filter((x) => x.rejected);
  const worst = rejected.reduce((a, b) => (b.ms > a.ms ? b : a));
  const within = worst.ms <= BOUND_SECONDS * 1000;
  rows.push(
    `| inspection: slowest over-limit rejection | ${f(worst.ms / 1000, 2)} s (${worst.name}, ${f(worst.compressedMb, 1)} MB compressed) | ≤ ${BOUND_SECONDS} s | ${within ? "met" : "**missed**"} |`,
  );
  const perMb = figures.reduce((a, b) => (b.msPerMb > a.msPerMb ? b : a));
  const gzipPerMb = perMb.gzipMs === undefined ? undefined : perMb.gzipMs / perMb.compressedMb;
  rows.push(
    `| inspection: time per compressed MB, worst case | ${f(perMb.msPerMb)} ms per MB (${perMb.name}, ${f(perMb.compressedMb, 1)} MB)${gzipPerMb ? `; gzip -t of it: ${f(gzipPerMb)} ms per MB (${f(perMb.msPerMb / gzipPerMb, 1)}×)` : ""} | | |`,
  );
  // Only data of a low ratio needs a large upload to pass the byte limit: its cost per MB, taken to the limit.
  const low = figures.filter((x) => x.name === "low ratio").at(-1);
  if (low) {
    const ratio = low.tarMb / low.compressedMb;
    const overLimitMb = PRODUCTION_LIMITS.maxBytes / 1e6 / ratio;
    const seconds = (low.msPerMb * overLimitMb) / 1000;
    const boundMb = (BOUND_SECONDS * 1000) / low.msPerMb;
    rows.push(
      `| inspection: low-ratio data taken to the byte limit | ${f(low.msPerMb, 1)} ms per compressed MB (${f(ratio, 2)}:1); over the limit it is ≥ ${f(overLimitMb)} MB compressed: ≈ ${f(seconds, 1)} s to reject (gzip -t alone ≈ ${f((((low.gzipMs ?? 0) / low.compressedMb) * overLimitMb) / 1000, 1)} s); the bound holds up to ${f(boundMb)} MB compressed | ≤ ${BOUND_SECONDS} s | ${seconds <= BOUND_SECONDS ? "met" : "**missed**"} |`,
    );
  }
  return rows;
}

const childFile = process.env.BENCH_INSPECTION_FILE;
if (childFile) await child(childFile);
