import { posix } from "node:path";
import { Parser, type ReadEntry } from "tar";
import {
  entryProblem,
  extendedHeaderProblem,
  type NameSources,
  noNameSources,
  noteNameSources,
  quoted,
  sparseFileReason,
  twoNamesProblem,
} from "./entry-rules.js";
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
 * headers (PAX records, GNU long names, stray zero blocks) as entries, twice
 * as many headers of any kind, 512 bytes of names and records per entry, and
 * 8 PAX records per entry (each costs about 1 µs to read twice over, by
 * node-tar and by the rules; 64 KiB headers of 9-byte records filled the
 * byte budget in 6 s). Real archives use a fraction of each; together they
 * keep the worst case to a few seconds (bench/inspection.ts).
 */
const NAME_BYTES_PER_ENTRY = 512;
const PAX_RECORDS_PER_ENTRY = 8;
/** The largest Dockerfile accepted: it is kept in memory, hashed, parsed, and its pinned copy stored in the record. */
export const MAX_DOCKERFILE_BYTES = 64 * 1024;
/** PAX records GNU tar writes for a sparse file (formats 0.0, 0.1 and 1.0). */
const SPARSE_RECORD = /(^|\n)\d+ GNU\.sparse\./;

/**
 * Two of node-tar's private Parser methods, wrapped on the walk's own
 * parser: consumeHeader sees every header block, those it skips without a
 * word too (an extended header of size 0: a stream of them would otherwise
 * be parsed to the byte limit, 8 µs each), and emitMeta sees an extended
 * header's type beside its body, where the "meta" event carries the body
 * alone (a PAX header is read otherwise than a GNU long name). Found by
 * name, so a node-tar that renames them fails here, loudly, rather than
 * check less.
 */
const CONSUME_HEADER = parserMethod("consumeHeader");
const EMIT_META = parserMethod("emitMeta");

function parserMethod(name: string): symbol {
  const found = Object.getOwnPropertySymbols(Parser.prototype).find((s) => s.description === name);
  if (!found) throw new Error(`node-tar's Parser has no ${name} method; src/context/archive-walk.ts needs updating`);
  return found;
}

/** Call `before` with a parser method's arguments each time, then the method itself. */
function wrapParser<A extends unknown[]>(parser: Parser, method: symbol, before: (...args: A) => void): void {
  const methods = parser as unknown as Record<symbol, (...args: A) => unknown>;
  const original = methods[method];
  if (typeof original !== "function")
    throw new Error("node-tar's Parser changed; src/context/archive-walk.ts needs updating");
  methods[method] = (...args: A) => {
    before(...args);
    return original.apply(parser, args);
  };
}

/** Types whose header declares a body of file data: the size must be one tar programs agree on. */
const FILE_TYPES = new Set(["File", "OldFile", "ContiguousFile"]);

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
  /** The Dockerfile's path names a directory in the context. */
  dockerfileIsDirectory = false;
  /** The Dockerfile's path names a link, whose content this walk cannot know. */
  dockerfileIsLink = false;
  /** The Dockerfile's bytes (the last entry of that name, as tar programs keep), when it is at most MAX_DOCKERFILE_BYTES. */
  dockerfileBytes: Buffer | undefined;
  /** The Dockerfile's size, when it is larger than MAX_DOCKERFILE_BYTES. */
  dockerfileTooLarge: number | undefined;
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
  private headers = 0;
  private extendedHeaders = 0;
  private nameBytes = 0;
  private paxRecords = 0;
  private sparseNext = false;
  /** The extended headers that named the next entry. */
  private nameSources: NameSources = noNameSources();
  private unfinished = 0;
  /** Types of the extended headers whose bodies are still to be emitted, in order. */
  private readonly metaTypes: string[] = [];

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
    wrapParser(this.parser, CONSUME_HEADER, () => this.header());
    wrapParser(this.parser, EMIT_META, (entry: ReadEntry) => this.metaTypes.push(entry.type));
    this.parser.on("meta", (records: string) => {
      this.extendedHeader(records.length);
      const type = this.metaTypes.shift();
      if (type === "ExtendedHeader" || type === "GlobalExtendedHeader") this.countRecords(records);
      if (this.problem) return;
      const problem = extendedHeaderProblem(type, records);
      if (problem) this.fail(problem);
      if (SPARSE_RECORD.test(records)) this.sparseNext = true;
      noteNameSources(this.nameSources, type, records);
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

  /** Every header block counts: entries and extended headers may each number the entry limit, and the end marker two. */
  private header(): void {
    this.headers += 1;
    const budget = 2 * this.limits.maxEntries + 2;
    if (this.headers > budget) {
      this.fail(
        `the context archive has more than ${budget} tar headers (entries, extended headers and empty blocks: twice the limit of ${this.limits.maxEntries} entries)`,
      );
    }
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

  /** Records end in a line break: counting those is cheap, reading the records is not. */
  private countRecords(records: string): void {
    for (let at = records.indexOf("\n"); at !== -1; at = records.indexOf("\n", at + 1)) this.paxRecords += 1;
    const budget = this.limits.maxEntries * PAX_RECORDS_PER_ENTRY;
    if (this.paxRecords > budget) {
      this.fail(
        `the context archive's PAX headers hold more than ${budget} records (${PAX_RECORDS_PER_ENTRY} for each of the ${this.limits.maxEntries} entries allowed)`,
      );
    }
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
    this.nameSources = noNameSources();
    const directory = entry.type === "Directory";
    if (problem) this.fail(problem);
    else if (name === this.dockerfile) {
      this.foundDockerfile = !directory;
      this.dockerfileIsDirectory = directory;
      this.keepDockerfile(entry);
    } else if (!directory && /dockerfile/i.test(posix.basename(name)) && this.dockerfileLike.length < 5) {
      this.dockerfileLike.push(name);
    }
  }

  /** Keep the Dockerfile's body: the trigger hashes it and reads its FROMs. A later entry of the same name replaces it. */
  private keepDockerfile(entry: ReadEntry): void {
    this.dockerfileIsLink = entry.type === "Link" || entry.type === "SymbolicLink";
    this.dockerfileBytes = undefined;
    this.dockerfileTooLarge = undefined;
    if (!FILE_TYPES.has(entry.type)) return;
    const size = entry.size ?? 0;
    if (size > MAX_DOCKERFILE_BYTES) {
      this.dockerfileTooLarge = size;
      return;
    }
    const chunks: Buffer[] = [];
    entry.on("data", (chunk: Buffer) => chunks.push(chunk));
    // Entries end in order, so a later entry of the same name always sets it after this one.
    entry.on("end", () => {
      this.dockerfileBytes = Buffer.concat(chunks);
    });
  }

  private problemWith(entry: ReadEntry, name: string): string | undefined {
    const { maxEntries, maxBytes } = this.limits;
    if (this.sparseNext) return sparseFileReason(entry.path);
    return (
      twoNamesProblem(entry.path, this.nameSources) ??
      entryProblem(entry) ??
      framingProblem(entry) ??
      (this.entries > maxEntries ? `the context has more than the limit of ${maxEntries} entries` : undefined) ??
      (this.bytes > maxBytes ? `the context's files add up to more than the limit of ${maxBytes} bytes` : undefined) ??
      this.links.admit(name, entry.type, normalise(entry.linkpath ?? ""))
    );
  }
}

/**
 * Sizes tar programs read differently, so that they would disagree on where
 * the next header starts and the unpack step could meet entries this walk
 * never saw: a link declaring data (node-tar skips it, busybox tar reads
 * headers there), and a file whose size field is negative or not a number
 * (node-tar reads 0).
 */
function framingProblem(entry: ReadEntry): string | undefined {
  if ((entry.type === "Link" || entry.type === "SymbolicLink") && (entry.size ?? 0) > 0) {
    return `link ${quoted(entry.path)} declares ${entry.size} bytes of data; links have none, and tar programs disagree on whether to skip them (they could hide entries from this check)`;
  }
  if (FILE_TYPES.has(entry.type) && entry.header.size === undefined) {
    return `entry ${quoted(entry.path)} has no valid size in its header (negative or not a number), which tar programs read differently`;
  }
  return undefined;
}
