import { Transform, type TransformCallback } from "node:stream";
import type { Compression } from "../build/key.js";

/** Stops the stream at the first problem, carrying the reason a person reads. */
export class Rejection extends Error {
  override name = "Rejection";
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
/** Other compressors' magic numbers: a context compressed with one of them deserves to be told so. */
const OTHER_COMPRESSIONS = [
  { name: "zstd", magic: /^\x28\xb5\x2f\xfd/ },
  { name: "xz", magic: /^\xfd7zXZ/ },
  // "BZh", the block size, and the first block's magic: a tar whose first name starts "BZh" is not mistaken for it.
  { name: "bzip2", magic: /^BZh[1-9]1A/ },
];
const MAGIC_BYTES = 6;

/** The other compressor these first bytes announce, once enough of them are in. */
const otherCompression = (start: Buffer) =>
  OTHER_COMPRESSIONS.find(({ magic }) => magic.test(start.toString("latin1")))?.name;
/** Room for the tar headers, padding and end marker around files whose sizes add up to just under the limit. */
const TAR_OVERHEAD = 64 * 1024;

/**
 * Counts the tar stream's bytes as they pass (after decompression), stops
 * the stream once they pass the limit, and refuses a tar stream that is
 * itself gzip: the tar parser would silently inflate it a second time,
 * out of this meter's sight.
 */
export class TarStreamMeter extends Transform {
  bytes = 0;
  private start = Buffer.alloc(0);

  constructor(
    private readonly limit: number,
    private readonly compression: Compression,
    private readonly onReject: (rejection: Rejection) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.start.length < MAGIC_BYTES) {
      this.start = Buffer.concat([this.start, chunk.subarray(0, MAGIC_BYTES - this.start.length)]);
      if (this.start.subarray(0, GZIP_MAGIC.length).equals(GZIP_MAGIC)) {
        this.reject(
          done,
          this.compression === "none"
            ? "the context is gzip-compressed but its key ends in .tar; name it .tar.gz or .tgz"
            : "the context is gzip-compressed twice; upload the .tar.gz itself, not a gzip of it",
        );
        return;
      }
      const other = otherCompression(this.start);
      if (other) {
        this.reject(
          done,
          `the context is ${other}-compressed; upload a plain tar (.tar) or a gzip-compressed one (.tar.gz, .tgz)`,
        );
        return;
      }
    }
    this.bytes += chunk.length;
    if (this.bytes > this.limit + TAR_OVERHEAD) {
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

/**
 * Passes a gzip stream on once its first bytes are gzip's magic number, and
 * refuses it otherwise. Deciding this up front lets a later inflate error
 * say the gzip data is corrupt, rather than guess whether it was ever gzip.
 */
export class GzipMagicCheck extends Transform {
  private start = Buffer.alloc(0);

  constructor(private readonly onReject: (rejection: Rejection) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.start.length < MAGIC_BYTES) {
      this.start = Buffer.concat([this.start, chunk.subarray(0, MAGIC_BYTES - this.start.length)]);
      const seen = this.start.subarray(0, GZIP_MAGIC.length);
      if (!GZIP_MAGIC.subarray(0, seen.length).equals(seen)) {
        // The first chunk holds the few bytes that would name another compressor (when it is that short, it goes unnamed).
        const other = otherCompression(this.start);
        const what = other ? `${other}-compressed, not gzip` : "not gzip-compressed";
        const rejection = new Rejection(`the context is ${what}, though its key ends in .tar.gz or .tgz`);
        this.onReject(rejection);
        done(rejection);
        return;
      }
    }
    done(null, chunk);
  }
}
