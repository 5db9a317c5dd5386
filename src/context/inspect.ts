import { posix } from "node:path";
import { type Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import type { Compression } from "../build/key.js";
import { accept, type Checked, refuse } from "../build/result.js";

export interface ContextLimits {
  /** Most bytes the unpacked context may hold (file sizes summed, and the tar stream itself). */
  maxBytes: number;
  maxEntries: number;
}

export interface ContextReport {
  entries: number;
  /** Sum of the file sizes. */
  bytes: number;
}

export interface InspectOptions {
  compression: Compression;
  dockerfile: string;
  limits: ContextLimits;
}

const ALLOWED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);
const SPECIAL_TYPES: Record<string, string> = {
  CharacterDevice: "a character device",
  BlockDevice: "a block device",
  FIFO: "a fifo",
};
const TAR_BLOCK = 512;

/** Stops the stream at the first problem, carrying the reason a person reads. */
class Rejection extends Error {
  override name = "Rejection";
}

/** Counts the tar stream's bytes, caps them, and checks the archive's first bytes. */
class TarStreamMeter extends Transform {
  bytes = 0;
  constructor(
    private readonly limit: number,
    private readonly compression: Compression,
    private readonly onReject: (rejection: Rejection) => void,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.bytes === 0 && this.compression === "none" && chunk[0] === 0x1f && chunk[1] === 0x8b) {
      this.reject(done, "the context is gzip-compressed but its key ends in .tar; name it .tar.gz or .tgz");
      return;
    }
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      this.reject(done, `the context unpacks to more than the limit of ${this.limit} bytes`);
      return;
    }
    done(null, chunk);
  }
  private reject(done: TransformCallback, reason: string): void {
    const rejection = new Rejection(reason);
    this.onReject(rejection);
    done(rejection);
  }
}

/** Where an entry's path or link leads, or why it is not allowed. */
function checkEntry(entry: ReadEntry): string | undefined {
  const path = entry.path;
  if (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path)) return `entry "${path}" has an absolute path`;
  if (path.split(/[\\/]/).includes("..")) return `entry "${path}" has a ".." path that leaves the context`;
  const special = SPECIAL_TYPES[entry.type];
  if (special) return `entry "${path}" is ${special}; contexts may hold only files, directories and links`;
  if (!ALLOWED_TYPES.has(entry.type)) return `entry "${path}" has unsupported type ${entry.type}`;
  const link = entry.linkpath ?? "";
  if (entry.type === "SymbolicLink") {
    if (link.startsWith("/")) return `symlink "${path}" points to the absolute path "${link}", outside the context`;
    const target = posix.normalize(posix.join(posix.dirname(path), link));
    if (target === ".." || target.startsWith("../")) return `symlink "${path}" points outside the context ("${link}")`;
  }
  if (entry.type === "Link") {
    const target = posix.normalize(link);
    if (link.startsWith("/") || target === ".." || target.startsWith("../")) {
      return `hard link "${path}" points outside the context ("${link}")`;
    }
  }
  return undefined;
}

const normalise = (path: string) => posix.normalize(path).replace(/^\.\//, "").replace(/\/$/, "");

/**
 * Validate a build context by streaming it: tar headers are read, file bodies
 * skipped, so memory stays bounded whatever the context's size. The first
 * problem stops the stream and becomes the rejection reason.
 */
export async function inspectContext(source: Readable, options: InspectOptions): Promise<Checked<ContextReport>> {
  const { limits } = options;
  const dockerfile = normalise(options.dockerfile);
  let stop: Error | undefined;
  const meter = new TarStreamMeter(limits.maxBytes + 64 * 1024, options.compression, (rejection) => {
    stop ??= rejection;
  });
  const parser = new Parser({ strict: true });
  let entries = 0;
  let bytes = 0;
  let unfinished = 0;
  let foundDockerfile = false;
  const dockerfileLike: string[] = [];
  parser.on("error", (error: Error) => {
    stop ??= error;
  });
  const parsed = new Promise<void>((resolve) => {
    parser.on("end", () => resolve());
    parser.on("error", () => resolve());
  });

  parser.on("entry", (entry: ReadEntry) => {
    entries += 1;
    bytes += entry.size ?? 0;
    const problem =
      checkEntry(entry) ??
      (entries > limits.maxEntries
        ? `the context has more than the limit of ${limits.maxEntries} entries`
        : undefined) ??
      (bytes > limits.maxBytes
        ? `the context's files add up to more than the limit of ${limits.maxBytes} bytes`
        : undefined);
    if (problem) {
      stop ??= new Rejection(problem);
      entry.resume();
      return;
    }
    const name = normalise(entry.path);
    if (name === dockerfile && entry.type !== "Directory") foundDockerfile = true;
    else if (/dockerfile/i.test(posix.basename(name)) && dockerfileLike.length < 5) dockerfileLike.push(name);
    unfinished += 1;
    entry.on("end", () => {
      unfinished -= 1;
    });
    entry.resume();
  });

  // Feed the parser chunk by chunk; the first problem throws, which tears the
  // pipeline down and stops reading from S3.
  async function feedParser(chunks: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of chunks) {
      parser.write(chunk);
      if (stop) throw stop;
    }
    parser.end();
    await parsed;
    if (stop) throw stop;
  }
  try {
    if (options.compression === "gzip") await pipeline(source, createGunzip(), meter, feedParser);
    else await pipeline(source, meter, feedParser);
  } catch (error: unknown) {
    // The first problem wins: later errors are only the pipeline being torn down.
    return refuse(describeStreamError(stop ?? error, options.compression, meter.bytes));
  }
  if (meter.bytes === 0) return refuse("the context is empty");
  if (entries === 0) return refuse("the context is not a tar archive (it holds no entries)");
  if (unfinished > 0 || meter.bytes % TAR_BLOCK !== 0) return refuse("the context archive is truncated");
  if (!foundDockerfile) {
    const hint = dockerfileLike.length ? ` (found ${dockerfileLike.join(", ")}; set the dockerfile metadata)` : "";
    return refuse(`no Dockerfile at "${dockerfile}" in the context${hint}`);
  }
  return accept({ entries, bytes });
}

function describeStreamError(error: unknown, compression: Compression, bytesRead: number): string {
  if (error instanceof Rejection) return error.message;
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  const message = error instanceof Error ? error.message : String(error);
  if (code === "Z_DATA_ERROR" || /incorrect header check/.test(message)) {
    return compression === "gzip"
      ? "the context is not gzip-compressed, though its key ends in .tar.gz or .tgz"
      : "the context is not a valid tar archive";
  }
  if (code === "Z_BUF_ERROR" || /unexpected end of file/.test(message)) return "the context archive is truncated";
  if (/Truncated input/.test(message)) return "the context archive is truncated";
  if (code === "TAR_BAD_ARCHIVE") return bytesRead === 0 ? "the context is empty" : "the context is not a tar archive";
  if (code.startsWith("TAR_")) return `the context archive is corrupt (${message})`;
  throw error;
}
