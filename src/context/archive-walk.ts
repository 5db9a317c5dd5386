import { posix } from "node:path";
import { Parser, type ReadEntry } from "tar";
import { entryProblem, quoted, sparseFileReason } from "./entry-rules.js";
import { LinkLedger } from "./link-ledger.js";
import { Rejection } from "./stream-meter.js";

export interface WalkLimits {
  maxBytes: number;
  maxEntries: number;
}

/** PAX records and GNU long names are a few hundred bytes; the parser buffers each whole. */
const MAX_EXTENDED_HEADER_BYTES = 64 * 1024;
/**
 * Headers cost far more to parse than bodies (node-tar spends about 10 µs on
 * each, and every name is scanned character by character), so besides the
 * entry limit they have budgets of their own, scaled to it: as many extended
 * headers (PAX records, GNU long names, stray zero blocks) as entries, and
 * 512 bytes of names and records per entry. Real archives use a fraction of
 * either; together they keep the worst case to a few seconds.
 */
const NAME_BYTES_PER_ENTRY = 512;
/** PAX records GNU tar writes for a sparse file (formats 0.0, 0.1 and 1.0). */
const SPARSE_RECORD = /(^|\n)\d+ GNU\.sparse\./;

/** Only a path with "", "." or ".." names or a trailing "/" needs posix.normalize's slower walk. */
const isNormal = (path: string) =>
  !path.includes("//") &&
  !path.includes("/./") &&
  !path.includes("..") &&
  !path.startsWith("./") &&
  !path.endsWith("/") &&
  !path.endsWith("/.") &&
  path !== ".";

export const normalise = (path: string) =>
  isNormal(path) ? path : posix.normalize(path).replace(/^\.\//, "").replace(/\/$/, "");

/**
 * Walks a tar stream header by header with node-tar's parser, applying the
 * entry rules and limits as each header arrives, so a declared size over the
 * limit stops the walk before its body is read. Bodies are skipped, never
 * kept. After the end-of-archive marker nothing more is parsed: the parser
 * would otherwise buffer every trailing byte, copying the buffer on each
 * chunk (a gzip bomb of trailing zeros took minutes and gigabytes).
 */
export class ArchiveWalk {
  entries = 0;
  /** File sizes as declared, summed. */
  bytes = 0;
  /** The end-of-archive marker (two zero blocks) was read. */
  ended = false;
  foundDockerfile = false;
  readonly dockerfileLike: string[] = [];
  problem: Error | undefined;

  private readonly parser = new Parser({
    strict: true,
    maxMetaEntrySize: MAX_EXTENDED_HEADER_BYTES,
    // Decompression is the inspector's, where its output is metered; never the parser's own.
    brotli: false,
    zstd: false,
  });
  private readonly parsed: Promise<void>;
  private readonly links = new LinkLedger();
  private extendedHeaders = 0;
  private nameBytes = 0;
  private sparseNext = false;
  private unfinished = 0;

  constructor(
    private readonly dockerfile: string,
    private readonly limits: WalkLimits,
  ) {
    this.parsed = new Promise<void>((resolve) => {
      this.parser.on("end", () => resolve());
      this.parser.on("error", () => resolve());
    });
    this.parser.on("error", (error: Error) => this.fail(error));
    this.parser.on("eof", () => {
      this.ended = true;
    });
    this.parser.on("nullBlock", () => this.extendedHeader(0));
    this.parser.on("meta", (records: string) => {
      this.extendedHeader(records.length);
      if (SPARSE_RECORD.test(records)) this.sparseNext = true;
    });
    this.parser.on("ignoredEntry", (entry: ReadEntry) => this.ignored(entry));
    this.parser.on("entry", (entry: ReadEntry) => this.entry(entry));
  }

  /** True when the archive was cut short: an entry without its whole body, or a partial block. */
  truncated(streamBytes: number): boolean {
    return !this.ended && (this.unfinished > 0 || streamBytes % 512 !== 0);
  }

  /** Feed the stream; the first problem throws, which tears the pipeline down and stops reading the source. */
  async consume(chunks: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of chunks) {
      if (!this.ended) this.parser.write(chunk);
      if (this.problem) throw this.problem;
    }
    if (!this.ended) {
      this.parser.end();
      await this.parsed;
    }
    if (this.problem) throw this.problem;
  }

  private fail(problem: Error | string): void {
    this.problem ??= typeof problem === "string" ? new Rejection(problem) : problem;
  }

  private extendedHeader(size: number): void {
    this.extendedHeaders += 1;
    const { maxEntries } = this.limits;
    if (this.extendedHeaders > maxEntries) {
      this.fail(
        `the context archive has more extended headers (PAX records, GNU long names) than the limit of ${maxEntries} entries`,
      );
    }
    this.countNames(size);
  }

  private countNames(size: number): void {
    this.nameBytes += size;
    const budget = this.limits.maxEntries * NAME_BYTES_PER_ENTRY;
    if (this.nameBytes > budget) {
      this.fail(
        `the context's paths and extended headers add up to more than ${budget} bytes (${NAME_BYTES_PER_ENTRY} for each of the ${this.limits.maxEntries} entries allowed)`,
      );
    }
  }

  private ignored(entry: ReadEntry): void {
    entry.resume();
    if (entry.meta) {
      this.fail(
        `the context archive has an extended header of ${entry.size} bytes (${quoted(entry.path)}); at most ${MAX_EXTENDED_HEADER_BYTES} are accepted`,
      );
    } else {
      this.fail(entryProblem(entry) ?? `entry ${quoted(entry.path)} has unsupported type ${entry.type}`);
    }
  }

  private entry(entry: ReadEntry): void {
    this.unfinished += 1;
    entry.on("end", () => {
      this.unfinished -= 1;
    });
    entry.resume(); // bodies are skipped, never kept
    this.entries += 1;
    this.bytes += entry.size ?? 0;
    // Counted before any rule reads the names, so the rules' work is bounded too.
    this.countNames(entry.path.length + (entry.linkpath?.length ?? 0));
    if (this.problem) return;
    const name = normalise(entry.path);
    const problem = this.problemWith(entry, name);
    if (problem) this.fail(problem);
    else if (name === this.dockerfile && entry.type !== "Directory") this.foundDockerfile = true;
    else if (/dockerfile/i.test(posix.basename(name)) && this.dockerfileLike.length < 5) this.dockerfileLike.push(name);
  }

  private problemWith(entry: ReadEntry, name: string): string | undefined {
    const { maxEntries, maxBytes } = this.limits;
    if (this.sparseNext) return sparseFileReason(entry.path);
    return (
      entryProblem(entry) ??
      (this.entries > maxEntries ? `the context has more than the limit of ${maxEntries} entries` : undefined) ??
      (this.bytes > maxBytes ? `the context's files add up to more than the limit of ${maxBytes} bytes` : undefined) ??
      this.links.admit(name, entry.type, normalise(entry.linkpath ?? ""))
    );
  }
}
