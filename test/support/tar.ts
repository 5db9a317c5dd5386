import { gzipSync } from "node:zlib";
import { Header } from "tar";

export interface TarEntrySpec {
  path: string;
  type?:
    | "File"
    | "Directory"
    | "SymbolicLink"
    | "Link"
    | "CharacterDevice"
    | "BlockDevice"
    | "FIFO"
    | "ContiguousFile"
    | "SparseFile"
    | "GNUDumpDir"
    | "ExtendedHeader"
    | "GlobalExtendedHeader"
    | "NextFileHasLongPath"
    | "NextFileHasLongLinkpath";
  body?: string | Buffer;
  linkpath?: string;
  /** The size the header declares; by default the body's length (0 for types without a body). */
  size?: number;
}

const TYPES_WITH_BODY = new Set<TarEntrySpec["type"]>([
  "File",
  "ContiguousFile",
  "SparseFile",
  "GNUDumpDir",
  "ExtendedHeader",
  "GlobalExtendedHeader",
  "NextFileHasLongPath",
  "NextFileHasLongLinkpath",
]);

/** One 512-byte header, declaring whatever size it is told: the body is the caller's business. */
export function tarHeader(entry: TarEntrySpec): Buffer {
  const type = entry.type ?? "File";
  const body = Buffer.from(entry.body ?? "");
  const header = new Header({
    path: entry.path,
    type,
    linkpath: entry.linkpath,
    size: entry.size ?? (TYPES_WITH_BODY.has(type) ? body.length : 0),
    mode: type === "Directory" ? 0o755 : 0o644,
    mtime: new Date("2026-01-01T00:00:00Z"),
    uid: 0,
    gid: 0,
  });
  const block = Buffer.alloc(512);
  header.encode(block, 0);
  return block;
}

/** Where each field of a tar header lies (offset, length), as ustar lays them out. */
export const HEADER_FIELDS = {
  name: [0, 100],
  size: [124, 12],
  checksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 8],
  prefix: [345, 155],
} as const;

/**
 * A header block with one field overwritten byte for byte (NUL-padded), and
 * its checksum made right again: for headers no encoder would write
 * (a negative size, a name hiding a NUL, an unknown type).
 */
export function withField(block: Buffer, field: keyof typeof HEADER_FIELDS, value: string | Buffer): Buffer {
  const [offset, length] = HEADER_FIELDS[field];
  const changed = Buffer.from(block);
  changed.fill(0, offset, offset + length);
  (Buffer.isBuffer(value) ? value : Buffer.from(value, "latin1")).copy(changed, offset, 0, length);
  changed.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of changed) sum += byte;
  changed.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
  return changed;
}

/** A body padded to whole 512-byte blocks, as it follows its header. */
export const padded = (body: Buffer | string) => {
  const bytes = Buffer.from(body);
  const blocks = Buffer.alloc(Math.ceil(bytes.length / 512) * 512);
  bytes.copy(blocks);
  return blocks;
};

/**
 * Build a tar archive byte by byte, so tests can make hostile contexts
 * (absolute paths, devices, escaping links) that ordinary tools refuse to make.
 * A Buffer among the entries goes in as it is (raw header and body blocks).
 */
export function tarArchive(entries: (TarEntrySpec | Buffer)[], options: { endMarker?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    if (Buffer.isBuffer(entry)) {
      blocks.push(entry);
      continue;
    }
    blocks.push(tarHeader(entry));
    const body = Buffer.from(entry.body ?? "");
    if (TYPES_WITH_BODY.has(entry.type ?? "File") && body.length > 0) blocks.push(padded(body));
  }
  if (options.endMarker !== false) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

/** A PAX extended header (type x) and its records, describing the entry that follows it. */
export function paxHeader(records: Record<string, string>, path = "PaxHeader/entry"): TarEntrySpec {
  const lines = Object.entries(records).map(([key, value]) => {
    const record = ` ${key}=${value}\n`;
    // The length prefix counts itself: grow it until it does.
    let length = Buffer.byteLength(record) + 1;
    while (String(length).length + Buffer.byteLength(record) !== length) length += 1;
    return `${length}${record}`;
  });
  return { path, type: "ExtendedHeader", body: lines.join("") };
}

/** A global PAX header (type g), as `git archive` writes one with the commit id. */
export const globalPaxHeader = (records: Record<string, string>): TarEntrySpec => ({
  ...paxHeader(records, "pax_global_header"),
  type: "GlobalExtendedHeader",
});

/** A PAX extended header whose body is given as it is, well-formed or not. */
export const rawPaxHeader = (body: string): TarEntrySpec => ({ path: "PaxHeader/entry", type: "ExtendedHeader", body });

/** A GNU long-link header (type K): the link target of the entry that follows it. */
export const gnuLongLink = (target: string): TarEntrySpec => ({
  path: "././@LongLink",
  type: "NextFileHasLongLinkpath",
  body: `${target}\0`,
});

/** A GNU long-name header (type L): the path of the entry that follows it, however long. */
export const gnuLongName = (path: string): TarEntrySpec => ({
  path: "././@LongLink",
  type: "NextFileHasLongPath",
  body: `${path}\0`,
});

export const gzip = (data: Buffer) => gzipSync(data);

/** A run of `bytes` zeros inside a gzipStream: costs about 1 KB of output per MiB. */
export interface Zeros {
  zeros: number;
}

/** The same bytes many times over inside a gzipStream, compressed once. */
export interface Repeat {
  repeat: Buffer;
  times: number;
}

const MiB = 1024 * 1024;

/**
 * A gzip file of any uncompressed size in constant memory, as a stream of
 * chunks: each part is its own gzip member (RFC 1952 allows many in one
 * file, and gunzip joins them), a run of zeros repeats one compressed
 * MiB — the ratio (about 1000:1) of a real gzip bomb — and a repeated part
 * is compressed once.
 */
export function* gzipStream(parts: (Buffer | Zeros | Repeat)[]): Generator<Buffer> {
  const mebibyteOfZeros = gzipSync(Buffer.alloc(MiB));
  for (const part of parts) {
    if (Buffer.isBuffer(part)) {
      yield gzipSync(part);
      continue;
    }
    if ("repeat" in part) {
      const member = gzipSync(part.repeat);
      for (let i = 0; i < part.times; i++) yield member;
      continue;
    }
    let left = part.zeros;
    for (; left >= MiB; left -= MiB) yield mebibyteOfZeros;
    if (left > 0) yield gzipSync(Buffer.alloc(left));
  }
}

/** A small valid context: a Dockerfile and one source file. */
export function sampleContext(
  dockerfile = "FROM public.ecr.aws/docker/library/alpine:3.20\nCOPY app.txt /app.txt\n",
): Buffer {
  return tarArchive([
    { path: "./", type: "Directory" },
    { path: "./Dockerfile", body: dockerfile },
    { path: "./app.txt", body: "hello from dropbuild\n" },
  ]);
}
