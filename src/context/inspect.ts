import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import type { Compression } from "../build/key.js";
import { accept, type Checked, refuse } from "../build/result.js";
import { errorMessage } from "../util/error-message.js";
import { ArchiveWalk, MAX_DOCKERFILE_BYTES, normalise } from "./archive-walk.js";
import { GzipMagicCheck, Rejection, TarStreamMeter } from "./stream-meter.js";

export interface ContextLimits {
  /** Most bytes the unpacked context may hold (file sizes summed, and the tar stream itself). */
  maxBytes: number;
  maxEntries: number;
}

export interface ContextReport {
  entries: number;
  /** Sum of the file sizes. */
  bytes: number;
  /** sha256 of the object as uploaded (compressed), hex. */
  sha256: string;
  /** The Dockerfile as the build will read it (the last entry of its name). */
  dockerfile: { text: string; sha256: string };
}

export interface InspectOptions {
  compression: Compression;
  dockerfile: string;
  limits: ContextLimits;
  /** The upload's size as stored (compressed), when known: small uploads inflate in small pieces. */
  compressedBytes?: number;
}

/**
 * Inflate in pieces of this size: zlib's default 16 KiB makes a 2 GiB bomb
 * of zeros cost about 5 s of CPU in per-chunk overhead; 256 KiB, under 1 s.
 * But the piece is allocated per inspection, which for a context of a few
 * KB was a third of its CPU: an upload of at most SMALL_UPLOAD_BYTES (at
 * most about 66 MB inflated, deflate's ratio being 1:1032, so under 0.2 s in
 * 16 KiB pieces) inflates in zlib's default pieces.
 */
const INFLATE_CHUNK_BYTES = 256 * 1024;
const SMALL_UPLOAD_BYTES = 64 * 1024;
const SMALL_INFLATE_CHUNK_BYTES = 16 * 1024;

const inflateChunkBytes = (compressedBytes: number | undefined) =>
  compressedBytes !== undefined && compressedBytes <= SMALL_UPLOAD_BYTES
    ? SMALL_INFLATE_CHUNK_BYTES
    : INFLATE_CHUNK_BYTES;

/**
 * Validate a build context by streaming it: tar headers are read, file bodies
 * skipped, so memory stays bounded whatever the context's size, and the
 * first problem stops the stream and becomes the rejection reason. Time is
 * bounded too: a declared size over the limit stops at its header, and every
 * other byte (bodies, extended headers, anything after the end marker) is
 * counted against the limit as it is inflated.
 */
export async function inspectContext(source: Readable, options: InspectOptions): Promise<Checked<ContextReport>> {
  const { limits, compression } = options;
  const dockerfile = normalise(options.dockerfile);
  const walk = new ArchiveWalk(dockerfile, limits);
  let stop: Rejection | undefined;
  const onReject = (rejection: Rejection) => {
    stop ??= rejection;
  };
  const meter = new TarStreamMeter(limits.maxBytes, compression, onReject);
  const consume = (chunks: AsyncIterable<Buffer>) => walk.consume(chunks);
  const objectHash = createHash("sha256");
  const hashed = async function* (chunks: AsyncIterable<Buffer>) {
    for await (const chunk of chunks) {
      objectHash.update(chunk);
      yield chunk;
    }
  };
  try {
    if (compression === "gzip") {
      const inflate = createGunzip({ chunkSize: inflateChunkBytes(options.compressedBytes) });
      await pipeline(source, hashed, new GzipMagicCheck(onReject), inflate, meter, consume);
    } else await pipeline(source, hashed, meter, consume);
  } catch (error: unknown) {
    // The first problem wins: later errors are only the pipeline being torn down.
    return refuse(describeStreamError(stop ?? walk.problem ?? error, compression, meter.bytes));
  }
  if (meter.bytes === 0) return refuse("the context is empty");
  if (walk.entries === 0) {
    return walk.ended
      ? refuse(`no Dockerfile at "${dockerfile}" in the context (the archive holds no files)`)
      : refuse("the context is not a tar archive (it holds no entries)");
  }
  if (walk.truncated(meter.bytes)) return refuse("the context archive is truncated");
  if (walk.dockerfileIsDirectory) {
    return refuse(
      `"${dockerfile}" in the context is a directory, not a Dockerfile; set the dockerfile metadata to the file`,
    );
  }
  if (!walk.foundDockerfile) {
    const found = walk.dockerfileLike;
    const hint = found.length ? ` (found ${found.join(", ")}; set the dockerfile metadata)` : "";
    return refuse(`no Dockerfile at "${dockerfile}" in the context${hint}`);
  }
  const dockerfileRead = dockerfileOf(walk, dockerfile);
  if (!dockerfileRead.ok) return dockerfileRead;
  return accept({
    entries: walk.entries,
    bytes: walk.bytes,
    sha256: objectHash.digest("hex"),
    dockerfile: dockerfileRead.value,
  });
}

/** The Dockerfile's text and hash, or why the build cannot use it as found. */
function dockerfileOf(walk: ArchiveWalk, path: string): Checked<ContextReport["dockerfile"]> {
  if (walk.dockerfileIsLink) {
    return refuse(
      `"${path}" in the context is a link; the Dockerfile must be a regular file, so that what is recorded (its sha256 and base images) is what is built`,
    );
  }
  if (walk.dockerfileTooLarge !== undefined) {
    return refuse(
      `the Dockerfile "${path}" is ${walk.dockerfileTooLarge} bytes, more than the limit of ${MAX_DOCKERFILE_BYTES}`,
    );
  }
  const bytes = walk.dockerfileBytes;
  if (bytes === undefined) return refuse(`no Dockerfile at "${path}" in the context`);
  // Kept as text (it is pinned, stored and passed to the pod), so it must be exactly representable as text.
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return refuse(`the Dockerfile "${path}" is not UTF-8 text`);
  }
  if (text.includes("\0")) return refuse(`the Dockerfile "${path}" holds a NUL byte`);
  return accept({ text, sha256: createHash("sha256").update(bytes).digest("hex") });
}

function describeStreamError(error: unknown, compression: Compression, bytesRead: number): string {
  if (error instanceof Rejection) return error.message;
  const code = typeof error === "object" && error !== null && "code" in error ? String(error.code) : "";
  const message = errorMessage(error);
  if (code === "Z_DATA_ERROR" || /incorrect header check/.test(message)) {
    // The stream began as gzip (GzipMagicCheck), so this is gzip data that broke partway.
    return compression === "gzip"
      ? `the context's gzip data is corrupt (${message})`
      : "the context is not a valid tar archive";
  }
  if (code === "Z_BUF_ERROR" || /unexpected end of file/.test(message)) return "the context archive is truncated";
  if (/Truncated input/.test(message)) return "the context archive is truncated";
  if (code === "TAR_BAD_ARCHIVE") return bytesRead === 0 ? "the context is empty" : "the context is not a tar archive";
  if (code.startsWith("TAR_")) return `the context archive is corrupt (${message})`;
  throw error;
}
