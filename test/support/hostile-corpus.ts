/**
 * The hostile corpus: every input a hostile or careless user (or a
 * misconfigured system) might hand dropbuild, in one listing, each with the
 * outcome it must have. Nothing may crash, hang or go unrecorded:
 *
 *   key, archive, metadata  an upload → exactly one record: REJECTED with a
 *                           reason a person understands and no Job, or
 *                           QUEUED with its Job (a correct build, on the bed)
 *   api                     a request → a 4xx whose message names the problem
 *   event                   an invocation of the trigger → it fails with a
 *                           message saying what arrived (Lambda retries it,
 *                           then parks it in the dead-letter queue), builds
 *                           nothing for a record that is no upload, or
 *                           records the upload it names
 *
 * The tests iterate this listing; no case is written down twice:
 *   test/unit/context/hostile-corpus.test.ts               archive cases, inspection alone, no bed
 *   test/integration/trigger/hostile-uploads.test.ts       key, archive and metadata cases: upload → trigger → record
 *   test/integration/trigger/malformed-events.test.ts      event cases
 *   test/integration/api/bad-parameters.test.ts            api cases
 *
 * Decisions the corpus pins down (each case's `why` says more):
 * - A name that appears twice is unpacked twice, the last one winning, as
 *   tar does (a Dockerfile twice: the second is built). Only a directory
 *   and a non-directory of the same name are refused: tar cannot unpack
 *   one over the other.
 * - The unpack step is kaniko's own (Go's archive/tar) for gzip contexts
 *   and busybox tar for a plain .tar. Whatever an unpacker and the
 *   inspector's tar parser would read differently (a PAX size, a link
 *   carrying data, a name hiding a line break, a malformed PAX record, an
 *   entry named by both a GNU long name and a PAX path, a contiguous file
 *   kaniko skips) is refused, since the entries checked would not be the
 *   entries unpacked. test/integration/context/kaniko-unpack.test.ts
 *   unpacks every accepted gzip archive with kaniko's code to hold this.
 */
import { randomBytes } from "node:crypto";
import {
  globalPaxHeader,
  gnuLongLink,
  gnuLongName,
  gzip,
  gzipStream,
  padded,
  paxHeader,
  rawPaxHeader,
  sampleContext,
  type TarEntrySpec,
  tarArchive,
  tarHeader,
  withField,
} from "./tar.js";

/** The limits the corpus runs under (CONTEXT_MAX_BYTES, CONTEXT_MAX_ENTRIES): small, so bombs stay cheap to make. */
export const CORPUS_LIMITS = { maxBytes: 8 * 1024 * 1024, maxEntries: 5000, maxUploadBytes: 4 * 1024 * 1024 };
const MiB = 1024 * 1024;
const LIMIT_BYTES = String(CORPUS_LIMITS.maxBytes);

export type UploadOutcome =
  | { rejected: RegExp }
  /** Recorded QUEUED with its Job; `tags` when the tags pushed are the point. */
  | { accepted: true; tags?: string[] };

export interface UploadCase {
  kind: "key" | "archive" | "metadata";
  name: string;
  /** The object key as uploaded (decoded). */
  key: string;
  /** The key as the S3 event carries it (URL-encoded, "+" for a space); by default S3's encoding of `key`. */
  eventKey?: string;
  body: () => Buffer;
  metadata?: Record<string, string>;
  expect: UploadOutcome;
  /** Only the trigger sees this case as it is (e.g. the object's own size), not inspection alone. */
  triggerOnly?: true;
  why?: string;
}

export interface ApiCase {
  kind: "api";
  name: string;
  method: string;
  path: string;
  query?: Record<string, string>;
  expect: { status: number; error: RegExp };
}

/** The upload an event case's event is about (the test uploads a good context for it). */
export interface UploadedObject {
  bucket: string;
  key: string;
  etag: string;
  size: number;
  versionId?: string;
}

export type EventOutcome =
  /** The invocation fails with this message; `records` uploads of the event were still recorded. */
  | { fails: RegExp; records?: number }
  /** Nothing to build: each record that is no upload is reported ignored, with this reason. */
  | { ignored: RegExp }
  /** S3's test event: nothing to build, nothing to say. */
  | { nothing: true }
  | { rejected: RegExp }
  | { accepted: true };

export interface EventCase {
  kind: "event";
  name: string;
  event: (upload: UploadedObject) => unknown;
  /** How many times the same event is delivered (S3 delivers at least once). */
  deliveries?: number;
  expect: EventOutcome;
}

export type HostileCase = UploadCase | ApiCase | EventCase;

// ---------------------------------------------------------------------------
// Building blocks

const DOCKERFILE = "FROM scratch\nCOPY . /\n";
const dockerfile: TarEntrySpec = { path: "Dockerfile", body: DOCKERFILE };
/** A context of a Dockerfile and these entries, gzip-compressed. */
const withDockerfile = (...entries: (TarEntrySpec | Buffer)[]) => gzip(tarArchive([dockerfile, ...entries]));
const good = () => gzip(sampleContext());
/** A key-safe form of a case's name. */
export const slug = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, 60)
    .replace(/^-+|-+$/g, "");
const rejected = (reason: RegExp) => ({ rejected: reason });
const accepted = { accepted: true } as const;

/** A raw header with a field no encoder would write, then `body` (padded) and nothing else. */
const rawEntry = (header: Buffer, body: Buffer | string = "") => Buffer.concat([header, padded(body)]);
/** A char device's header and end marker: what a smuggled region hides. */
const smuggled = () =>
  tarArchive(
    [
      { path: "dev/mem", type: "CharacterDevice" },
      { path: "evil", body: "x" },
    ],
    {},
  );

function archive(
  name: string,
  body: () => Buffer,
  expect: UploadOutcome,
  options: { suffix?: ".tar.gz" | ".tgz" | ".tar"; metadata?: Record<string, string>; why?: string } = {},
): UploadCase {
  return {
    kind: "archive",
    name,
    key: `contexts/hostile/${slug(name)}/1${options.suffix ?? ".tar.gz"}`,
    body,
    expect,
    metadata: options.metadata,
    why: options.why,
  };
}

function metadata(name: string, meta: Record<string, string>, expect: UploadOutcome, body = good): UploadCase {
  return { kind: "metadata", name, key: `contexts/metadata/${slug(name)}/v1.tar.gz`, body, metadata: meta, expect };
}

function key(name: string, objectKey: string, expect: UploadOutcome, eventKey?: string): UploadCase {
  return { kind: "key", name, key: objectKey, eventKey, body: good, expect };
}

// ---------------------------------------------------------------------------
// Keys: how S3 names the upload, and how its event spells that name

export const KEY_CASES: UploadCase[] = [
  key(
    "key outside contexts/",
    "uploads/app/v1.tar.gz",
    rejected(/^key "uploads\/app\/v1.tar.gz" is not under contexts\//),
  ),
  key("key without a repository", "contexts/v1.tar.gz", rejected(/^key "contexts\/v1.tar.gz" names no repository/)),
  key("key with a zip suffix", "contexts/keys/app/v1.zip", rejected(/does not end in \.tar\.gz, \.tgz or \.tar/)),
  key("key with an upper-case suffix", "contexts/keys/app/v1.TAR.GZ", rejected(/does not end in \.tar\.gz/)),
  key(
    'a "folder" object (key ending in /)',
    "contexts/keys/folder/",
    rejected(/^key "contexts\/keys\/folder\/" does not end in/),
  ),
  key("the prefix itself as a folder object", "contexts/", rejected(/^key "contexts\/" does not end in/)),
  key("upper-case repository", "contexts/MyApp/v1.tar.gz", rejected(/^repository "MyApp" is not a valid image name/)),
  key("tag starting with a dash", "contexts/keys/app/-v1.tar.gz", rejected(/^tag "-v1" is not a valid image tag/)),
  key(
    "a space, sent as + in the event",
    "contexts/keys/space/v 1.tar.gz",
    rejected(/^tag "v 1" is not a valid image tag/),
    "contexts/keys/space/v+1.tar.gz",
  ),
  key(
    "a real +, sent as %2B in the event",
    "contexts/keys/plus/v1+build.tar.gz",
    rejected(/^tag "v1\+build" is not a valid image tag/),
    "contexts/keys/plus/v1%2Bbuild.tar.gz",
  ),
  key(
    "every character percent-encoded, slashes included",
    "contexts/keys/encoded/v1.0_rc-1.tar.gz",
    accepted,
    "contexts%2Fkeys%2Fencoded%2Fv1.0_rc-1.tar.gz",
  ),
  key(
    "unicode in the repository",
    "contexts/keys/café/1.tar.gz",
    rejected(/^repository "keys\/café" is not a valid image name/),
    "contexts/keys/caf%C3%A9/1.tar.gz",
  ),
  key(
    "malformed percent-encoding in the event",
    "contexts/keys/badescape/1.tar.gz",
    rejected(/^object key "contexts\/keys\/badescape\/%E0%A4%A\.tar\.gz" is not valid URL encoding$/),
    "contexts/keys/badescape/%E0%A4%A.tar.gz",
  ),
  key(
    "a key of 1,000 characters",
    `contexts/${"a/".repeat(493)}1.tar.gz`,
    rejected(/makes the image name longer than 255 characters$/),
  ),
  key(
    "a tag of 129 characters",
    `contexts/keys/app/${"t".repeat(129)}.tar.gz`,
    rejected(/^tag "t{129}" is not a valid/),
  ),
  key(
    "a double slash",
    "contexts/keys//app/v1.tar.gz",
    rejected(/^repository "keys\/\/app" is not a valid image name/),
  ),
  key("a ./ segment", "contexts/./app/v1.tar.gz", rejected(/^repository "\.\/app" is not a valid image name/)),
  key("a ../ segment", "contexts/../etc/v1.tar.gz", rejected(/^repository "\.\.\/etc" is not a valid image name/)),
  key("a nested repository", "contexts/keys/team/sub/api/1.4.2.tar.gz", accepted),
  key("the .tgz suffix", "contexts/keys/tgz/1.tgz", accepted),
  {
    kind: "key",
    name: "the .tar suffix (no compression)",
    key: "contexts/keys/plain/1.tar",
    body: () => sampleContext(),
    expect: accepted,
  },
  key("a tag that itself ends in .tar.gz", "contexts/keys/double/v1.tar.gz.tar.gz", accepted),
];

// ---------------------------------------------------------------------------
// Archives: what the context holds

const zeros = (bytes: number) => Buffer.alloc(bytes);
/** A gzip stream of parts, joined (each part its own gzip member). */
const gzipParts = (...parts: Parameters<typeof gzipStream>[0]) => Buffer.concat([...gzipStream(parts)]);
const nested = (levels: number) => "d/".repeat(levels);

export const ARCHIVE_CASES: UploadCase[] = [
  // Not a readable tar(.gz)
  archive("text named .tar.gz", () => Buffer.from("hello, this is not an archive\n"), {
    rejected: /^the context is not gzip-compressed, though its key ends in \.tar\.gz or \.tgz$/,
  }),
  archive("an empty object", () => Buffer.alloc(0), rejected(/^the context is empty$/), { suffix: ".tar" }),
  archive("gzip of nothing", () => gzip(Buffer.alloc(0)), rejected(/^the context is empty$/)),
  archive(
    "truncated gzip",
    () => withDockerfile({ path: "blob", body: randomBytes(300_000) }).subarray(0, 4000),
    rejected(/^the context archive is truncated$/),
  ),
  archive(
    "a tar cut in the middle of a file",
    () => tarArchive([dockerfile, { path: "blob", body: Buffer.alloc(10_000, 7) }]).subarray(0, 4096),
    rejected(/^the context archive is truncated$/),
    { suffix: ".tar" },
  ),
  archive(
    "gzip that turns corrupt partway",
    () =>
      Buffer.concat([
        withDockerfile({ path: "blob", body: Buffer.alloc(200_000, 7) }),
        Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      ]),
    rejected(/^the context's gzip data is corrupt \(/),
  ),
  archive("gzip inside gzip", () => gzip(good()), rejected(/^the context is gzip-compressed twice/)),
  archive("gzip named .tar", good, rejected(/^the context is gzip-compressed but its key ends in \.tar/), {
    suffix: ".tar",
  }),
  archive(
    "zstd named .tar.gz",
    () => Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(2000, 7)]),
    rejected(/^the context is zstd-compressed, not gzip, though its key ends in \.tar\.gz or \.tgz$/),
  ),
  archive(
    "xz named .tar",
    () => Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(2000, 7)]),
    rejected(/^the context is xz-compressed; upload a plain tar \(\.tar\) or a gzip-compressed one/),
    { suffix: ".tar" },
  ),
  archive(
    "bzip2 named .tar",
    () => Buffer.concat([Buffer.from("BZh91AY&SY"), Buffer.alloc(2000, 7)]),
    rejected(/^the context is bzip2-compressed; upload a plain tar/),
    { suffix: ".tar" },
  ),
  archive(
    "a plain tar whose first name starts like bzip2's magic",
    () => tarArchive([{ path: "BZh.txt", body: "x" }, dockerfile]),
    accepted,
    { suffix: ".tar" },
  ),
  archive(
    "plain text gzipped",
    () => gzip(Buffer.from("plain text, gzipped\n".repeat(100))),
    rejected(/^the context archive is corrupt \(TAR_ENTRY_INVALID: checksum failure\)$/),
  ),
  archive(
    "a header whose checksum is wrong",
    () => {
      const header = Buffer.from(tarHeader({ path: "app.txt", body: "x" }));
      header[0] = 0x41;
      return gzip(Buffer.concat([tarArchive([dockerfile], { endMarker: false }), rawEntry(header, "x"), zeros(1024)]));
    },
    rejected(/^the context archive is corrupt \(TAR_ENTRY_INVALID: checksum failure\)$/),
  ),
  archive(
    "an empty tar archive",
    () => gzip(tarArchive([])),
    rejected(/^no Dockerfile at "Dockerfile" in the context \(the archive holds no files\)$/),
  ),
  archive(
    "a tar of one empty 10 KiB record, as GNU tar writes an empty archive",
    () => gzip(Buffer.alloc(10_240)),
    rejected(/^no Dockerfile at "Dockerfile" in the context \(the archive holds no files\)$/),
  ),
  archive(
    "no Dockerfile, another one elsewhere",
    () => gzip(tarArchive([{ path: "build/Dockerfile", body: DOCKERFILE }])),
    rejected(/^no Dockerfile at "Dockerfile" in the context \(found build\/Dockerfile; set the dockerfile metadata\)$/),
  ),
  archive(
    "the Dockerfile is a directory",
    () =>
      gzip(
        tarArchive([
          { path: "Dockerfile", type: "Directory" },
          { path: "Dockerfile/x", body: "x" },
        ]),
      ),
    rejected(/^"Dockerfile" in the context is a directory, not a Dockerfile/),
  ),
  archive(
    "no end-of-archive marker",
    () => gzip(tarArchive([dockerfile, { path: "app.txt", body: "x" }], { endMarker: false })),
    accepted,
    { why: "every entry is whole; busybox and GNU tar unpack it alike" },
  ),

  // Bombs, by ratio and by declared size
  archive(
    "gzip bomb by ratio: 20 MiB of zeros in one file",
    () => withDockerfile({ path: "zeros", body: zeros(20 * MiB) }),
    rejected(new RegExp(`^the context's files add up to more than the limit of ${LIMIT_BYTES} bytes$`)),
  ),
  archive(
    "gzip bomb by ratio after the end marker (70 KB inflating to 64 MiB)",
    () => gzipParts(tarArchive([dockerfile]), { zeros: 64 * MiB }),
    rejected(new RegExp(`^the context unpacks to more than the limit of ${LIMIT_BYTES} bytes$`)),
    { why: "tar ignores what follows the end marker, but it still costs inflating: metered all the same" },
  ),
  archive(
    "gzip of nothing but zeros",
    () => gzipParts({ zeros: 64 * MiB }),
    rejected(new RegExp(`^the context unpacks to more than the limit of ${LIMIT_BYTES} bytes$`)),
  ),
  archive(
    "a bomb split into 3,000 gzip members",
    () => gzipParts(tarArchive([dockerfile], { endMarker: false }), { repeat: zeros(4096), times: 3000 }),
    rejected(new RegExp(`^the context unpacks to more than the limit of ${LIMIT_BYTES} bytes$`)),
  ),
  archive(
    "an entry declaring 6 GiB",
    () =>
      gzipParts(tarArchive([dockerfile], { endMarker: false }), tarHeader({ path: "zeros", size: 6 * 1024 ** 3 }), {
        zeros: 16 * MiB,
      }),
    rejected(new RegExp(`^the context's files add up to more than the limit of ${LIMIT_BYTES} bytes$`)),
  ),
  archive(
    "a size field in base-256 declaring 2^50 bytes",
    () =>
      gzipParts(tarArchive([dockerfile], { endMarker: false }), tarHeader({ path: "zeros", size: 2 ** 50 }), {
        zeros: 8 * MiB,
      }),
    rejected(new RegExp(`^the context's files add up to more than the limit of ${LIMIT_BYTES} bytes$`)),
  ),
  archive(
    "a size field at its octal maximum (8 GiB - 1)",
    () =>
      gzipParts(
        tarArchive([dockerfile], { endMarker: false }),
        withField(tarHeader({ path: "zeros" }), "size", "77777777777\0"),
        { zeros: 8 * MiB },
      ),
    rejected(new RegExp(`^the context's files add up to more than the limit of ${LIMIT_BYTES} bytes$`)),
  ),
  archive(
    "a negative size field (base-256)",
    () =>
      withDockerfile(
        withField(tarHeader({ path: "x" }), "size", Buffer.from([0xff, ...Array(10).fill(0xff), 0x00])),
        smuggled(),
      ),
    rejected(/^entry "x" has no valid size in its header \(negative or not a number\)/),
    { why: "node-tar reads 0 and busybox another number: they would disagree on where the next header starts" },
  ),
  archive(
    "a size field that is not a number",
    () => withDockerfile(withField(tarHeader({ path: "x" }), "size", "zzzzzzzzzzz\0"), smuggled()),
    rejected(/^entry "x" has no valid size in its header/),
  ),
  archive(
    "files adding up over the limit",
    () => withDockerfile(...Array.from({ length: 9 }, (_, i) => ({ path: `blob${i}`, body: zeros(MiB) }))),
    rejected(new RegExp(`^the context's files add up to more than the limit of ${LIMIT_BYTES} bytes$`)),
  ),
  {
    ...archive(
      "an object larger than the limit as uploaded",
      () => randomBytes(CORPUS_LIMITS.maxBytes + 1024),
      rejected(
        new RegExp(`^the context is ${CORPUS_LIMITS.maxBytes + 1024} bytes, more than the limit of ${LIMIT_BYTES}$`),
      ),
    ),
    triggerOnly: true,
  },
  {
    ...archive(
      "an upload under the unpacked limit but over the upload limit",
      () => randomBytes(CORPUS_LIMITS.maxUploadBytes + 1024),
      rejected(
        new RegExp(
          `^the context is ${CORPUS_LIMITS.maxUploadBytes + 1024} bytes as uploaded, more than the limit of ${CORPUS_LIMITS.maxUploadBytes} for an upload \\(CONTEXT_MAX_UPLOAD_BYTES\\)$`,
        ),
      ),
    ),
    triggerOnly: true,
  },

  // Many entries, many headers, deep nesting, long names
  archive(
    "exactly as many entries as allowed (5,000)",
    () => withDockerfile(...Array.from({ length: 4999 }, (_, i) => ({ path: `src/${i}.txt` }))),
    accepted,
  ),
  archive(
    "one entry too many (5,001)",
    () => withDockerfile(...Array.from({ length: 5000 }, (_, i) => ({ path: `src/${i}.txt` }))),
    rejected(/^the context has more than the limit of 5000 entries$/),
  ),
  archive(
    "more extended headers than entries allowed",
    () => withDockerfile(...Array.from({ length: 5001 }, () => paxHeader({ comment: "x" })), { path: "f", body: "x" }),
    rejected(
      /^the context archive has more extended headers \(PAX records, GNU long names\) than the limit of 5000 entries$/,
    ),
  ),
  archive(
    "PAX headers of 64 KiB of 9-byte records",
    () =>
      withDockerfile(...Array.from({ length: 6 }, () => rawPaxHeader("9 uid=10\n".repeat(7281))), {
        path: "f",
        body: "x",
      }),
    rejected(
      /^the context archive's PAX headers hold more than 40000 records \(8 for each of the 5000 entries allowed\)$/,
    ),
    { why: "each record costs a microsecond to read: at the production limits, 64 KiB headers of them took 6 s" },
  ),
  archive(
    "a stream of empty PAX headers (size 0)",
    () =>
      withDockerfile(
        ...Array.from(
          { length: 10_002 },
          () => ({ path: "PaxHeader/x", type: "ExtendedHeader", size: 0 }) as TarEntrySpec,
        ),
      ),
    rejected(
      /^the context archive has more than 10002 tar headers \(entries, extended headers and empty blocks: twice the limit of 5000 entries\)$/,
    ),
    {
      why: "node-tar skips an empty extended header without a word; unbounded, 4 million of them (a 2 MB upload) took 30 s",
    },
  ),
  archive(
    "names over their budget (4 KB paths by the hundred)",
    () =>
      withDockerfile(
        ...Array.from({ length: 400 }, (_, i) => [
          paxHeader({ path: `${nested(1990)}${i}` }),
          { path: "f", body: "x" },
        ]).flat(),
      ),
    rejected(
      /^the context's paths and extended headers add up to more than 2560000 bytes \(512 for each of the 5000 entries allowed\)$/,
    ),
  ),
  archive(
    "a file 1,000 directories deep",
    () => withDockerfile(paxHeader({ path: `${nested(1000)}f` }), { path: "f", body: "x" }),
    accepted,
  ),
  archive(
    "1,000 nested directory entries",
    () =>
      withDockerfile(
        ...Array.from({ length: 1000 }, (_, i) => [
          paxHeader({ path: nested(i + 1) }),
          { path: "d/", type: "Directory" } as TarEntrySpec,
        ]).flat(),
      ),
    accepted,
  ),
  archive(
    "a path longer than Linux allows (4,201 bytes)",
    () => withDockerfile(paxHeader({ path: `${nested(2100)}f` }), { path: "f", body: "x" }),
    rejected(/has a path of 4201 bytes, longer than the 4096 a Linux path may hold$/),
  ),
  archive(
    "a PAX path of 150 characters",
    () => withDockerfile(paxHeader({ path: `${"long-directory-name/".repeat(7)}file.txt` }), { path: "f", body: "x" }),
    accepted,
  ),
  archive(
    "a GNU long name (type L) of 200 characters",
    () => withDockerfile(gnuLongName(`${"build/".repeat(32)}Dockerfile.txt`), { path: "short", body: "x" }),
    accepted,
  ),
  archive(
    "a name of 300 bytes (100 three-byte characters)",
    () => withDockerfile(paxHeader({ path: `ok/${"日".repeat(100)}` }), { path: "f", body: "x" }),
    rejected(/has a name of 300 bytes, longer than the 255 a file name may hold$/),
  ),
  archive(
    "a name of 240 bytes in UTF-8",
    () => withDockerfile(paxHeader({ path: `ok/${"é".repeat(120)}` }), { path: "f", body: "x" }),
    accepted,
  ),
  archive(
    '"." and "./" entries',
    () =>
      withDockerfile({ path: ".", type: "Directory" }, { path: "./", type: "Directory" }, { path: "./a", body: "x" }),
    accepted,
  ),

  // Paths that leave the context
  archive(
    "an absolute path",
    () => withDockerfile({ path: "/etc/cron.d/x", body: "x" }),
    rejected(/^entry "\/etc\/cron.d\/x" has an absolute path$/),
  ),
  archive(
    'a ".." path',
    () => withDockerfile({ path: "../../root/.ssh/authorized_keys", body: "x" }),
    rejected(/^entry "..\/..\/root\/.ssh\/authorized_keys" has a "\.\." path that leaves the context$/),
  ),
  archive(
    "a Windows drive path",
    () => withDockerfile({ path: "C:\\Windows\\x", body: "x" }),
    rejected(/has an absolute path$/),
  ),
  archive(
    'a ".." path with backslashes',
    () => withDockerfile({ path: "..\\..\\x", body: "x" }),
    rejected(/has a "\.\." path that leaves the context$/),
  ),
  archive(
    'a PAX path with "../"',
    () => withDockerfile(paxHeader({ path: "a/../../etc/x" }), { path: "innocent", body: "x" }),
    rejected(/^entry "a\/..\/..\/etc\/x" has a "\.\." path that leaves the context$/),
  ),
  archive(
    'a GNU long name with "../"',
    () => withDockerfile(gnuLongName("../../x"), { path: "innocent", body: "x" }),
    rejected(/^entry "..\/..\/x" has a "\.\." path/),
  ),
  archive(
    "a name field hiding a NUL and a line break",
    () =>
      withDockerfile(withField(tarHeader({ path: "x", type: "SymbolicLink", linkpath: "../x" }), "name", "a\0\n/b")),
    rejected(/^entry "a\\n\/b\\u0000" has a line break or NUL in its name, which tar programs read differently/),
    { why: 'node-tar reads "a\\n/b" (where ../x stays inside); busybox reads "a", a link out of the context' },
  ),
  archive(
    "a GNU long name hiding a NUL and a line break",
    () => withDockerfile(gnuLongName("a\0\n/b"), { path: "x", type: "SymbolicLink", linkpath: "../x" }),
    rejected(/has a line break or NUL in its name/),
  ),
  archive(
    "a GNU long name with a NUL inside",
    () => withDockerfile(gnuLongName("ok\0../../x"), { path: "plain", body: "x" }),
    accepted,
    { why: 'every tar reads the name up to the NUL: "ok"' },
  ),

  // Entry types
  archive("a character device", () => withDockerfile({ path: "dev/mem", type: "CharacterDevice" }), {
    rejected: /^entry "dev\/mem" is a character device; contexts may hold only files, directories and links$/,
  }),
  archive("a block device", () => withDockerfile({ path: "dev/sda", type: "BlockDevice" }), {
    rejected: /^entry "dev\/sda" is a block device/,
  }),
  archive("a fifo", () => withDockerfile({ path: "pipe", type: "FIFO" }), rejected(/^entry "pipe" is a fifo/)),
  archive(
    "a contiguous file (type 7)",
    () => withDockerfile({ path: "c", type: "ContiguousFile", body: "x" }),
    rejected(
      /^entry "c" is a contiguous file \(tar type 7\), which the build's unpack step \(kaniko\) skips; pack the context with a current tar/,
    ),
    { why: "kaniko's extraction writes type 0 files only and skips type 7 silently (found by kaniko-unpack.test.ts)" },
  ),
  archive(
    "a GNU dump directory (type D)",
    () => withDockerfile({ path: "dump", type: "GNUDumpDir", body: "x" }),
    rejected(/^entry "dump" has unsupported type GNUDumpDir; contexts may hold only files, directories and links$/),
  ),
  archive(
    "a tape volume header (type V)",
    () => withDockerfile(withField(tarHeader({ path: "vol" }), "typeflag", "V")),
    rejected(/^entry "vol" has unsupported type TapeVolumeHeader/),
  ),
  archive(
    "an unknown type (Z)",
    () => withDockerfile(withField(tarHeader({ path: "z", body: "x" }), "typeflag", "Z"), padded("x")),
    rejected(/^entry "z" has a tar type no tar program knows; contexts may hold only files, directories and links$/),
  ),
  archive(
    "an old GNU long name (type N)",
    () => withDockerfile(withField(tarHeader({ path: "n", body: "name\0" }), "typeflag", "N"), padded("name\0")),
    rejected(/^the context archive has an old GNU long-name header \(tar type N\), which the build's unpack step/),
  ),
  archive(
    "an old GNU sparse file (type S)",
    () => withDockerfile({ path: "disk.img", type: "SparseFile", body: "x" }),
    rejected(/^entry "disk.img" is a sparse file \(tar --sparse\)/),
  ),
  archive(
    "a PAX sparse file (GNU format 1.0)",
    () =>
      withDockerfile(paxHeader({ "GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "disk.img" }), {
        path: "GNUSparseFile.0/disk.img",
        body: "1\n0\n1\n",
      }),
    rejected(/^entry "GNUSparseFile.0\/disk.img" is a sparse file/),
  ),
  archive(
    "a PAX sparse file (GNU format 0.1)",
    () =>
      withDockerfile(paxHeader({ "GNU.sparse.size": "4096", "GNU.sparse.numblocks": "1", "GNU.sparse.map": "0,1" }), {
        path: "disk.img",
        body: "x",
      }),
    rejected(/^entry "disk.img" is a sparse file/),
  ),

  // Extended headers
  archive(
    "a PAX header with the usual records",
    () =>
      withDockerfile(paxHeader({ path: "app/main.go", mtime: "1767225600.5", uid: "1000", uname: "dev" }), {
        path: "main.go",
        body: "package main\n",
      }),
    accepted,
  ),
  archive(
    "git archive's global header (the commit id)",
    () => withDockerfile(globalPaxHeader({ comment: "0123456789abcdef0123456789abcdef01234567" })),
    accepted,
  ),
  archive(
    "a PAX header of 70 KB",
    () => withDockerfile(paxHeader({ comment: "x".repeat(70_000) }), { path: "f", body: "x" }),
    rejected(
      /^the context archive has an extended header of 70\d{3} bytes \("PaxHeader\/entry"\); at most 65536 are accepted$/,
    ),
  ),
  archive(
    "a PAX size record hiding entries",
    () => {
      const hidden = smuggled();
      return withDockerfile(paxHeader({ size: String(hidden.length) }), { path: "innocent", size: 0 }, hidden);
    },
    rejected(
      /^the context archive has a PAX extended header that sets "size=\d+", which the build's unpack step \(busybox tar\) ignores/,
    ),
    { why: "busybox reads the size from the header: it would unpack the device this check skipped as file data" },
  ),
  archive(
    "a global PAX size record",
    () => withDockerfile(globalPaxHeader({ size: "0" }), { path: "f", body: "x" }),
    rejected(/^the context archive has a global PAX header that sets "size=0"/),
  ),
  archive(
    "a PAX type record",
    () => withDockerfile(paxHeader({ type: "0" }), { path: "dev/mem", type: "CharacterDevice" }),
    rejected(/^the context archive has a PAX extended header that sets "type=0"/),
  ),
  archive(
    "a PAX path holding a line break",
    () => withDockerfile(rawPaxHeader("21 path=a\n../../../b\n"), { path: "plain", body: "x" }),
    rejected(/^the context archive has a PAX extended header whose "path" value holds a line break/),
  ),
  archive(
    "a PAX record whose length is wrong",
    () => withDockerfile(rawPaxHeader("15 path=evil1\nzz garbage\n"), { path: "plain", body: "x" }),
    rejected(/^the context archive has a malformed PAX extended header \(a record's length does not match it\)/),
    { why: 'busybox takes "evil1…" from it; node-tar ignores the record' },
  ),
  archive(
    "a PAX header that is not records at all",
    () => withDockerfile(rawPaxHeader("hello world, no records here"), { path: "plain", body: "x" }),
    rejected(/^the context archive has a malformed PAX extended header/),
  ),
  archive(
    "a PAX record without a key",
    () => withDockerfile(rawPaxHeader("9 =value\n"), { path: "plain", body: "x" }),
    rejected(/^the context archive has a malformed PAX extended header \(a record without "key="\)/),
  ),
  archive(
    "a GNU long name followed by a PAX path",
    () => withDockerfile(gnuLongName("from-long-name"), paxHeader({ path: "from-pax" }), { path: "plain", body: "x" }),
    rejected(
      /^entry "from-pax" is named twice, by a GNU long name and a PAX path, which tar programs read differently/,
    ),
    {
      why: 'node-tar and busybox name the entry "from-pax", Go\'s archive/tar (kaniko) "from-long-name" (found by kaniko-unpack.test.ts)',
    },
  ),

  // Duplicates
  archive(
    "the same file twice",
    () => withDockerfile({ path: "app.txt", body: "one" }, { path: "app.txt", body: "two" }),
    accepted,
    { why: "tar unpacks both in order: the last wins" },
  ),
  archive(
    "the Dockerfile twice",
    () => gzip(tarArchive([{ path: "Dockerfile", body: "FROM scratch\n" }, dockerfile])),
    accepted,
    { why: "the last wins, as tar unpacks it: the second Dockerfile is the one built" },
  ),
  archive(
    "a directory, then a file of the same name",
    () => withDockerfile({ path: "d", type: "Directory" }, { path: "d", body: "x" }),
    rejected(
      /^entry "d" would replace the directory of the same name made earlier in the context, which tar cannot do/,
    ),
  ),
  archive(
    "a file, then a directory of the same name",
    () => withDockerfile({ path: "d", body: "x" }, { path: "d/", type: "Directory" }),
    rejected(/^directory "d" would replace a file or link of the same name made earlier in the context/),
  ),
  archive(
    "a symlink, then a file of the same name",
    () => withDockerfile({ path: "l", type: "SymbolicLink", linkpath: "Dockerfile" }, { path: "l", body: "x" }),
    accepted,
    { why: "tar removes the link and writes the file" },
  ),

  // Links of every kind
  archive(
    "symlinks that stay inside",
    () =>
      withDockerfile(
        { path: "lib/real.txt", body: "x" },
        { path: "lib/alias", type: "SymbolicLink", linkpath: "real.txt" },
        { path: "bin/up", type: "SymbolicLink", linkpath: "../lib/real.txt" },
        { path: "dangling", type: "SymbolicLink", linkpath: "not-there" },
      ),
    accepted,
  ),
  archive(
    "a symlink out of the context",
    () => withDockerfile({ path: "creds", type: "SymbolicLink", linkpath: "../../../home" }),
    rejected(/^symlink "creds" points outside the context \("..\/..\/..\/home"\)$/),
  ),
  archive(
    "an absolute symlink",
    () => withDockerfile({ path: "etc", type: "SymbolicLink", linkpath: "/etc" }),
    rejected(/^symlink "etc" points to the absolute path "\/etc", outside the context$/),
  ),
  archive(
    "a chain of symlinks that ends outside",
    () =>
      withDockerfile(
        { path: "a", type: "SymbolicLink", linkpath: "b" },
        { path: "b", type: "SymbolicLink", linkpath: "../x" },
      ),
    rejected(/^symlink "b" points outside the context/),
  ),
  archive(
    "a symlink loop",
    () =>
      withDockerfile(
        { path: "loop/a", type: "SymbolicLink", linkpath: "b" },
        { path: "loop/b", type: "SymbolicLink", linkpath: "a" },
      ),
    accepted,
    { why: "a loop unpacks harmlessly; only following it fails" },
  ),
  archive(
    "a symlink going down and back up",
    () =>
      withDockerfile(
        { path: "a/b/l", type: "SymbolicLink", linkpath: "../.." },
        { path: "m", type: "SymbolicLink", linkpath: "a/b/l/.." },
      ),
    rejected(/^symlink "m" points to "a\/b\/l\/..", which goes back up/),
  ),
  archive(
    "an entry written through a symlink",
    () =>
      withDockerfile(
        { path: "a", type: "SymbolicLink", linkpath: "." },
        { path: "a/l", type: "SymbolicLink", linkpath: "../x" },
      ),
    rejected(/^entry "a\/l" lies inside "a", which is a symlink/),
  ),
  archive(
    "a PAX link target out of the context",
    () =>
      withDockerfile(paxHeader({ linkpath: "../../etc/passwd" }), { path: "l", type: "SymbolicLink", linkpath: "ok" }),
    rejected(/^symlink "l" points outside the context \("..\/..\/etc\/passwd"\)$/),
  ),
  archive(
    "a GNU long link (type K) out of the context",
    () =>
      withDockerfile(gnuLongLink(`${"../".repeat(40)}etc/shadow`), {
        path: "creds",
        type: "SymbolicLink",
        linkpath: "s",
      }),
    rejected(/^symlink "creds" points outside the context/),
  ),
  archive(
    "a GNU long link (type K) inside",
    () =>
      withDockerfile({ path: `${"a/".repeat(60)}f`, body: "x" }, gnuLongLink(`${"a/".repeat(60)}f`), {
        path: "l",
        type: "SymbolicLink",
        linkpath: "s",
      }),
    accepted,
  ),
  archive(
    "a GNU long link followed by a PAX linkpath",
    () =>
      withDockerfile({ path: "app.txt", body: "x" }, gnuLongLink("Dockerfile"), paxHeader({ linkpath: "app.txt" }), {
        path: "l",
        type: "SymbolicLink",
        linkpath: "s",
      }),
    rejected(/^entry "l" is named twice, by a GNU long link and a PAX linkpath, which tar programs read differently/),
    { why: "Go's archive/tar (kaniko) takes the GNU link, node-tar the PAX one" },
  ),
  archive(
    "a link target of 4,201 bytes",
    () => withDockerfile(gnuLongLink(`${nested(2100)}f`), { path: "l", type: "SymbolicLink", linkpath: "s" }),
    rejected(/^link "l" has a target of 4201 bytes, longer than the 4096 a Linux path may hold$/),
  ),
  archive(
    "a Dockerfile that is an absolute symlink",
    () => gzip(tarArchive([{ path: "Dockerfile", type: "SymbolicLink", linkpath: "/etc/passwd" }])),
    rejected(/^symlink "Dockerfile" points to the absolute path "\/etc\/passwd"/),
  ),
  archive(
    "a Dockerfile that is a symlink inside",
    () =>
      gzip(
        tarArchive([
          { path: "docker/Dockerfile", body: DOCKERFILE },
          { path: "Dockerfile", type: "SymbolicLink", linkpath: "docker/Dockerfile" },
        ]),
      ),
    rejected(/^"Dockerfile" in the context is a link; the Dockerfile must be a regular file/),
    {
      why: "the trigger hashes the Dockerfile and pins its base images, so it must read the content, which a link's entry does not carry",
    },
  ),
  archive(
    "a symlink carrying data",
    () =>
      withDockerfile(
        rawEntry(
          withField(tarHeader({ path: "l", type: "SymbolicLink", linkpath: "Dockerfile" }), "size", "00000003000\0"),
        ),
        smuggled(),
      ),
    rejected(
      /^link "l" declares 1536 bytes of data; links have none, and tar programs disagree on whether to skip them/,
    ),
    { why: "node-tar skips the data; busybox reads it as headers: the device inside would be unpacked unseen" },
  ),
  archive(
    "hard links inside, chained",
    () =>
      withDockerfile(
        { path: "f", body: "x" },
        { path: "g", type: "Link", linkpath: "f" },
        { path: "h", type: "Link", linkpath: "./g" },
      ),
    accepted,
  ),
  archive(
    "a hard link out of the context",
    () => withDockerfile({ path: "h", type: "Link", linkpath: "../x" }),
    rejected(/^hard link "h" points outside the context \("..\/x"\)$/),
  ),
  archive(
    "an absolute hard link",
    () => withDockerfile({ path: "h", type: "Link", linkpath: "/etc/shadow" }),
    rejected(/^hard link "h" points outside the context \("\/etc\/shadow"\)$/),
  ),
  archive(
    "a hard link to nothing",
    () => withDockerfile({ path: "h", type: "Link", linkpath: "missing" }),
    rejected(/^hard link "h" points to "missing", which is not a regular file earlier in the context$/),
  ),
  archive(
    "a hard link to a directory",
    () => withDockerfile({ path: "d", type: "Directory" }, { path: "h", type: "Link", linkpath: "d" }),
    rejected(/^hard link "h" points to "d", which is not a regular file earlier in the context$/),
  ),
  archive(
    "a hard link to a symlink",
    () =>
      withDockerfile(
        { path: "d/l", type: "SymbolicLink", linkpath: "../x" },
        { path: "h", type: "Link", linkpath: "d/l" },
      ),
    rejected(/^hard link "h" points to "d\/l", which is not a regular file earlier in the context$/),
  ),
  archive(
    "a hard link to itself",
    () => withDockerfile({ path: "h", type: "Link", linkpath: "h" }),
    rejected(/^hard link "h" points to "h", which is not a regular file earlier/),
  ),
  archive(
    "a hard link to a file a duplicate turned into a symlink",
    () =>
      withDockerfile(
        { path: "d/f", body: "x" },
        { path: "d/f", type: "SymbolicLink", linkpath: "../x" },
        { path: "h", type: "Link", linkpath: "./d/f" },
      ),
    rejected(/^hard link "h" points to "d\/f", which is not a regular file/),
  ),
  archive(
    "a hard link carrying data",
    () =>
      withDockerfile(
        { path: "f", body: "x" },
        rawEntry(withField(tarHeader({ path: "h", type: "Link", linkpath: "f" }), "size", "00000003000\0")),
        smuggled(),
      ),
    rejected(/^link "h" declares 1536 bytes of data/),
  ),
];

// ---------------------------------------------------------------------------
// Metadata: what the upload says about the build

const nestedDockerfile = () =>
  gzip(
    tarArchive([
      { path: "docker/prod.Dockerfile", body: DOCKERFILE },
      { path: "docker/sub", type: "Directory" },
    ]),
  );

export const METADATA_CASES: UploadCase[] = [
  metadata("build-args that are not JSON", { "build-args": "VERSION=1" }, rejected(/^build-args metadata is not JSON/)),
  metadata(
    "build-args that are a JSON array",
    { "build-args": '["VERSION"]' },
    rejected(/^build-args metadata must be a JSON object/),
  ),
  metadata("build-args that are a JSON string", { "build-args": '"VERSION=1"' }, rejected(/must be a JSON object/)),
  metadata("build-args that are JSON null", { "build-args": "null" }, rejected(/must be a JSON object/)),
  metadata(
    "a build-arg with an invalid name",
    { "build-args": '{"1X":"a"}' },
    rejected(/^build-arg name "1X" is not a valid ARG name$/),
  ),
  metadata(
    "a build-arg whose value is an object",
    { "build-args": '{"A":{"b":1}}' },
    rejected(/^build-arg A must be a string, number or boolean$/),
  ),
  metadata(
    "101 build-args",
    { "build-args": JSON.stringify(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`A${i}`, 1]))) },
    rejected(/^build-args has 101 entries; at most 100$/),
  ),
  metadata("a build-arg of 1,800 bytes", { "build-args": JSON.stringify({ BIG: "x".repeat(1800) }) }, accepted),
  metadata(
    "a build-arg holding a line break, quotes and $(...)",
    { "build-args": JSON.stringify({ NOTE: 'a\nb "c" $(rm -rf /) `x`' }) },
    accepted,
  ),
  metadata("empty build-args", { "build-args": "" }, accepted),
  metadata(
    "a target that is no stage name",
    { target: "stage name!" },
    rejected(/^target "stage name!" is not a valid stage name$/),
  ),
  metadata(
    "a dockerfile path out of the context",
    { dockerfile: "../Dockerfile" },
    rejected(/^dockerfile "..\/Dockerfile" points outside the context$/),
  ),
  metadata(
    "an absolute dockerfile path",
    { dockerfile: "/etc/Dockerfile" },
    rejected(/^dockerfile "\/etc\/Dockerfile" is absolute/),
  ),
  metadata(
    "a dockerfile path ending in /",
    { dockerfile: "docker/" },
    rejected(/^dockerfile "docker\/" is a directory, not a file$/),
  ),
  metadata('a dockerfile path of "."', { dockerfile: "." }, rejected(/^dockerfile "\." is a directory, not a file$/)),
  metadata(
    "a dockerfile path to a missing file",
    { dockerfile: "docker/missing.Dockerfile" },
    rejected(
      /^no Dockerfile at "docker\/missing.Dockerfile" in the context \(found docker\/prod.Dockerfile; set the dockerfile metadata\)$/,
    ),
    nestedDockerfile,
  ),
  metadata(
    "a dockerfile path to a directory",
    { dockerfile: "docker/sub" },
    rejected(/^"docker\/sub" in the context is a directory, not a Dockerfile/),
    nestedDockerfile,
  ),
  metadata(
    "a dockerfile path written ./docker//prod.Dockerfile",
    { dockerfile: "./docker//prod.Dockerfile" },
    accepted,
    nestedDockerfile,
  ),
  metadata(
    "an invalid extra tag",
    { "extra-tags": "ok,bad tag" },
    rejected(/^extra-tags: tag "bad tag" is not a valid image tag/),
  ),
  metadata("an extra tag starting with a dot", { "extra-tags": ".hidden" }, rejected(/^extra-tags: tag "\.hidden"/)),
  metadata(
    "duplicated extra tags",
    { "extra-tags": "latest, latest,v1,,stable" },
    { accepted: true, tags: ["v1", "latest", "stable"] },
  ),
  metadata(
    "300 extra tags",
    { "extra-tags": Array.from({ length: 300 }, (_, i) => `t${i}`).join(",") },
    rejected(/^extra-tags: 300 tags, more than the limit of 20$/),
  ),
  metadata(
    "20 extra tags, the limit",
    { "extra-tags": Array.from({ length: 20 }, (_, i) => `t${i}`).join(",") },
    { accepted: true },
  ),
  metadata("metadata dropbuild does not know", { "x-team": "payments", color: "blue" }, accepted),
];

// ---------------------------------------------------------------------------
// The HTTP API (the test seeds finished builds 0000000000000001 to 0000000000000006)

/** A build the API test seeds as SUCCEEDED. */
export const FINISHED_BUILD_ID = "0000000000000001";
/** A valid id no build has. */
export const UNKNOWN_BUILD_ID = "00000000000000ff";
const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const get = (name: string, query: Record<string, string>, error: RegExp, status = 400): ApiCase => ({
  kind: "api",
  name,
  method: "GET",
  path: "/builds",
  query,
  expect: { status, error },
});
const call = (name: string, method: string, path: string, status: number, error: RegExp): ApiCase => ({
  kind: "api",
  name,
  method,
  path,
  expect: { status, error },
});

export const API_CASES: ApiCase[] = [
  get("a cursor that is not base64 JSON", { cursor: "%%%not-a-cursor" }, /^cursor /),
  get("a cursor of JSON the API never issued", { cursor: cursorOf({ a: 1 }) }, /^cursor /),
  get(
    "a cursor of JSON the API never issued, on an index",
    { repository: "api/one", cursor: cursorOf({ a: 1 }) },
    /^cursor /,
  ),
  get("a cursor of a JSON number", { status: "FAILED", cursor: cursorOf(5) }, /^cursor /),
  get("a cursor of JSON null", { status: "FAILED", cursor: cursorOf(null) }, /^cursor /),
  get("a cursor whose inner cursors are not strings", { cursor: cursorOf({ QUEUED: 5 }) }, /^cursor /),
  get(
    "a cursor with an empty key",
    { status: "FAILED", cursor: cursorOf({ id: "", submittedAt: "", status: "FAILED" }) },
    /^cursor /,
  ),
  get("a cursor of 100 KB", { cursor: "A".repeat(100_000) }, /^cursor /),
  get("a limit of zero", { limit: "0" }, /^limit "0" must be a whole number from 1 to 1000$/),
  get("a negative limit", { limit: "-1" }, /^limit "-1"/),
  get("a fractional limit", { limit: "1.5" }, /^limit "1.5"/),
  get("a limit that is not a number", { limit: "ten" }, /^limit "ten"/),
  get("an empty limit", { limit: "" }, /^limit ""/),
  get("a limit too large", { limit: "100000" }, /^limit "100000"/),
  get("a since that is no time", { since: "yesterday" }, /^since "yesterday" is neither an ISO time nor an age/),
  get("a since further back than any date", { since: "99999999999999w" }, /^since "99999999999999w"/),
  get("a status that does not exist", { status: "DONE" }, /^status "DONE" is not one of QUEUED, /),
  get("two statuses at once", { status: "FAILED,SUCCEEDED" }, /^status "FAILED,SUCCEEDED" is not one of/),
  get("a repository that is no image name", { repository: "My App" }, /^repository "My App" is not a valid image name/),
  get("a repository climbing out", { repository: "../etc" }, /^repository "..\/etc" is not a valid image name/),
  get("a repository longer than any image name", { repository: "a".repeat(3000) }, /^repository "a{10}/),
  get(
    "a parameter the API does not take",
    { state: "FAILED" },
    /^unknown parameter "state"; \/builds takes repository, status, since, until, limit, cursor$/,
  ),
  call(
    "an id that is not hex",
    "GET",
    "/builds/NOTANID",
    400,
    /^id "NOTANID" is not a build id \(16 lowercase hex digits\)$/,
  ),
  call(
    "an id one digit too long",
    "GET",
    "/builds/0000000000000001x",
    400,
    /^id "0000000000000001x" is not a build id/,
  ),
  call("an id in upper case", "GET", "/builds/00000000000000FF", 400, /^id "00000000000000FF" is not a build id/),
  call("a percent-encoded id", "GET", "/builds/%2e%2e", 400, /^id "%2e%2e" is not a build id/),
  call(
    "an id no build has",
    "GET",
    `/builds/${UNKNOWN_BUILD_ID}`,
    404,
    new RegExp(`^no build with id ${UNKNOWN_BUILD_ID}$`),
  ),
  call("cancelling with a bad id", "POST", "/builds/zzz/cancel", 400, /^id "zzz" is not a build id/),
  call(
    "cancelling a build that does not exist",
    "POST",
    `/builds/${UNKNOWN_BUILD_ID}/cancel`,
    404,
    /^no build with id /,
  ),
  call(
    "cancelling a build that already finished",
    "POST",
    `/builds/${FINISHED_BUILD_ID}/cancel`,
    409,
    new RegExp(`^build ${FINISHED_BUILD_ID} already finished \\(SUCCEEDED\\); there is nothing to cancel$`),
  ),
  call(
    "cancelling with GET",
    "GET",
    `/builds/${FINISHED_BUILD_ID}/cancel`,
    405,
    /^GET is not allowed on \/builds\/0000000000000001\/cancel; use POST$/,
  ),
  call("POST to the list", "POST", "/builds", 405, /^POST is not allowed on \/builds; use GET$/),
  call(
    "DELETE on a build",
    "DELETE",
    `/builds/${FINISHED_BUILD_ID}`,
    405,
    /^DELETE is not allowed on \/builds\/0000000000000001; use GET$/,
  ),
  get("an until that is no time", { until: "later" }, /^until "later" is neither an ISO time nor an age/),
  get("an until before since", { since: "1h", until: "2h" }, /^until "2h" is before since "1h"$/),
  {
    kind: "api",
    name: "a negative log offset",
    method: "GET",
    path: `/builds/${FINISHED_BUILD_ID}/log`,
    query: { offset: "-1" },
    expect: { status: 400, error: /^offset "-1" must be a whole number of characters, 0 or more$/ },
  },
  {
    kind: "api",
    name: "a parameter the queue does not take",
    method: "GET",
    path: "/queue",
    query: { repository: "api/one" },
    expect: { status: 400, error: /^unknown parameter "repository"; \/queue takes no parameters$/ },
  },
  call(
    "the log of a build that does not exist",
    "GET",
    `/builds/${UNKNOWN_BUILD_ID}/log`,
    404,
    new RegExp(`^no build with id ${UNKNOWN_BUILD_ID}$`),
  ),
  call(
    "a path under a build",
    "GET",
    `/builds/${FINISHED_BUILD_ID}/logs/x`,
    404,
    /^no route for GET \/builds\/0000000000000001\/logs\/x$/,
  ),
  call("a path that does not exist", "GET", "/admin", 404, /^no route for GET \/admin$/),
];

// ---------------------------------------------------------------------------
// Events handed to the trigger

/** An S3 ObjectCreated record for the upload, as S3 sends it to the function. */
export function s3Record(
  upload: UploadedObject,
  overrides: { eventName?: string; bucket?: string; key?: string } = {},
) {
  return {
    eventVersion: "2.1",
    eventSource: "aws:s3",
    awsRegion: "us-east-1",
    eventTime: "2026-11-25T10:00:00.000Z",
    eventName: overrides.eventName ?? "ObjectCreated:Put",
    s3: {
      s3SchemaVersion: "1.0",
      bucket: { name: overrides.bucket ?? upload.bucket, arn: `arn:aws:s3:::${overrides.bucket ?? upload.bucket}` },
      object: {
        key: overrides.key ?? s3EventKey(upload.key),
        size: upload.size,
        eTag: upload.etag.replaceAll('"', ""),
        ...(upload.versionId ? { versionId: upload.versionId } : {}),
        sequencer: "0A1B2C3D4E5F678901",
      },
    },
  };
}

/** How S3 spells a key in its events: URL-encoded, "+" for a space, "/" left alone. */
export const s3EventKey = (key: string) =>
  key
    .split("/")
    .map((part) => encodeURIComponent(part).replaceAll("%20", "+"))
    .join("/");

const event = (name: string, make: EventCase["event"], expect: EventOutcome, deliveries?: number): EventCase => ({
  kind: "event",
  name,
  event: make,
  expect,
  deliveries,
});

export const EVENT_CASES: EventCase[] = [
  event("null", () => null, { fails: /^the trigger received null, not an S3 event notification \(no Records list\)$/ }),
  event("a string", () => "ObjectCreated", { fails: /^the trigger received a string, not an S3 event notification/ }),
  event("an array of records without the envelope", (u) => [s3Record(u)], {
    fails: /^the trigger received an array, not an S3 event/,
  }),
  event("an empty object", () => ({}), {
    fails: /^the trigger received an empty object, not an S3 event notification/,
  }),
  event("Records that are not a list", () => ({ Records: { 0: {} } }), {
    fails: /^the trigger received an object with "Records", not an S3 event notification \(no Records list\)$/,
  }),
  event(
    "an EventBridge event",
    (u) => ({
      version: "0",
      "detail-type": "Object Created",
      source: "aws.s3",
      detail: { bucket: { name: u.bucket } },
    }),
    { fails: /^the trigger received an EventBridge event \("Object Created"\), not an S3 event notification/ },
  ),
  event(
    "an SQS event wrapping the S3 notification",
    (u) => ({
      Records: [{ eventSource: "aws:sqs", messageId: "1", body: JSON.stringify({ Records: [s3Record(u)] }) }],
    }),
    { fails: /^record 1 is an SQS message, not an S3 event record/ },
  ),
  event("a record without its object", (u) => ({ Records: [{ ...s3Record(u), s3: { bucket: { name: u.bucket } } }] }), {
    fails: /^record 1 is not an S3 event record \(s3\.object: /,
  }),
  event(
    "a record whose key is a number",
    (u) => {
      const record = s3Record(u);
      return { Records: [{ ...record, s3: { ...record.s3, object: { ...record.s3.object, key: 42 } } }] };
    },
    { fails: /^record 1 is not an S3 event record \(s3\.object\.key: / },
  ),
  event("one good record and one malformed", (u) => ({ Records: [s3Record(u), { eventSource: "aws:s3" }] }), {
    fails: /^record 2 is not an S3 event record/,
    records: 1,
  }),
  event(
    "S3's test event",
    (u) => ({ Service: "Amazon S3", Event: "s3:TestEvent", Time: "2026-11-25T10:00:00.000Z", Bucket: u.bucket }),
    {
      nothing: true,
    },
  ),
  event("no records at all", () => ({ Records: [] }), { nothing: true }),
  event("a deletion", (u) => ({ Records: [s3Record(u, { eventName: "ObjectRemoved:Delete" })] }), {
    ignored: /^record 1 is an "ObjectRemoved:Delete" event, not an upload: nothing to build$/,
  }),
  event("a restore from Glacier", (u) => ({ Records: [s3Record(u, { eventName: "ObjectRestore:Completed" })] }), {
    ignored: /"ObjectRestore:Completed" event, not an upload/,
  }),
  event("a tagging event", (u) => ({ Records: [s3Record(u, { eventName: "ObjectTagging:Put" })] }), {
    ignored: /"ObjectTagging:Put" event, not an upload/,
  }),
  event("a record for another bucket", (u) => ({ Records: [s3Record(u, { bucket: "someone-elses-bucket" })] }), {
    rejected:
      /^the event is for bucket "someone-elses-bucket", but this deployment builds contexts from "[^"]+"; check the bucket's notification$/,
  }),
  event("an eventTime that is no time", (u) => ({ Records: [{ ...s3Record(u), eventTime: "99999" }] }), accepted),
  event(
    "a multipart upload completing",
    (u) => ({ Records: [s3Record(u, { eventName: "ObjectCreated:CompleteMultipartUpload" })] }),
    accepted,
  ),
  event("the same event delivered three times", (u) => ({ Records: [s3Record(u)] }), accepted, 3),
];

export const HOSTILE_CORPUS: HostileCase[] = [
  ...KEY_CASES,
  ...ARCHIVE_CASES,
  ...METADATA_CASES,
  ...API_CASES,
  ...EVENT_CASES,
];
export const UPLOAD_CASES: UploadCase[] = [...KEY_CASES, ...ARCHIVE_CASES, ...METADATA_CASES];
