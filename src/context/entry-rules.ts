import { posix } from "node:path";

/** What the rules read of one tar entry: its header, as the tar parser decoded it (PAX and GNU names applied). */
export interface EntryHeader {
  path: string;
  type: string;
  linkpath?: string;
}

/** Linux's PATH_MAX and NAME_MAX: the unpack step cannot create a longer path or name. */
const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const DOT = 0x2e;

const ALLOWED_TYPES = new Set(["File", "OldFile", "Directory", "SymbolicLink", "Link"]);
const SPECIAL_TYPES: Record<string, string> = {
  CharacterDevice: "a character device",
  BlockDevice: "a block device",
  FIFO: "a fifo",
};
/**
 * node-tar ends a name at its first NUL only up to the next line break
 * ("a\0\n/b" reads as "a\n/b"), where every other tar reads "a": the
 * entry would be judged at one path and unpacked at another.
 */
const UNREADABLE_NAME = /[\n\0]/;

/** A path as a reason quotes it: long hostile paths would drown the message. */
export function quoted(path: string): string {
  // A name field's trailing NULs (shown when a name hides a line break) would drown the message too.
  const shown = path.replace(/\0\0+$/, "\0");
  return JSON.stringify(shown.length > 120 ? `${shown.slice(0, 60)}…${shown.slice(-40)}` : shown);
}

export const sparseFileReason = (path: string) =>
  `entry ${quoted(path)} is a sparse file (tar --sparse), which the build's unpack step cannot restore; pack the context without --sparse`;

/**
 * The rules one entry must meet on its own, whatever else the archive holds:
 * a relative path that stays inside the context and can be created, an
 * allowed type, and links whose targets stay inside. Returns the reason a
 * person reads, or undefined when the entry is fine.
 */
export function entryProblem(entry: EntryHeader): string | undefined {
  return pathProblem(entry.path) ?? typeProblem(entry) ?? linkProblem(entry);
}

function pathProblem(path: string): string | undefined {
  if (UNREADABLE_NAME.test(path))
    return `entry ${quoted(path)} has a line break or NUL in its name, ${READ_DIFFERENTLY}`;
  if (path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path)) return `entry ${quoted(path)} has an absolute path`;
  // A UTF-8 path has at least as many bytes as UTF-16 units, and at most three times as many.
  const length = path.length * 3 <= MAX_PATH_BYTES ? path.length : Buffer.byteLength(path);
  if (length > MAX_PATH_BYTES) {
    return `entry ${quoted(path)} has a path of ${length} bytes, longer than the ${MAX_PATH_BYTES} a Linux path may hold`;
  }
  const names = scanNames(path);
  if (names.climbs) return `entry ${quoted(path)} has a ".." path that leaves the context`;
  if (names.tooLong) {
    const bytes = Buffer.byteLength(names.tooLong);
    return `entry ${quoted(path)} has a name of ${bytes} bytes, longer than the ${MAX_NAME_BYTES} a file name may hold`;
  }
  return undefined;
}

/**
 * One pass over a path's names (split at "/" or "\\"): whether one is "..",
 * and the first longer than a file name may be. A pass, not split(): paths
 * may be 4 KB and come by the hundred thousand, so each costs what its
 * length does.
 */
function scanNames(path: string): { climbs: boolean; tooLong?: string } {
  let start = 0;
  let climbs = false;
  let tooLong: string | undefined;
  for (let i = 0; i <= path.length; i++) {
    const c = i < path.length ? path.charCodeAt(i) : SLASH;
    if (c !== SLASH && c !== BACKSLASH) continue;
    const units = i - start;
    if (units === 2 && path.charCodeAt(start) === DOT && path.charCodeAt(start + 1) === DOT) climbs = true;
    // Only a name of more than 85 UTF-16 units can pass 255 bytes of UTF-8.
    if (tooLong === undefined && units * 3 > MAX_NAME_BYTES) {
      const name = path.slice(start, i);
      if (Buffer.byteLength(name) > MAX_NAME_BYTES) tooLong = name;
    }
    start = i + 1;
  }
  return { climbs, tooLong };
}

function typeProblem({ path, type }: EntryHeader): string | undefined {
  const special = SPECIAL_TYPES[type];
  if (special) return `entry ${quoted(path)} is ${special}; ${ONLY_FILES}`;
  if (type === "SparseFile") return sparseFileReason(path);
  if (type === "Unsupported") return `entry ${quoted(path)} has a tar type no tar program knows; ${ONLY_FILES}`;
  if (type === "ContiguousFile") {
    // kaniko (the unpack step for gzip contexts) unpacks type "0" files only and skips type "7" without a word.
    return `entry ${quoted(path)} is a contiguous file (tar type 7), which the build's unpack step (kaniko) skips; pack the context with a current tar, which writes regular files`;
  }
  if (!ALLOWED_TYPES.has(type)) return `entry ${quoted(path)} has unsupported type ${type}; ${ONLY_FILES}`;
  return undefined;
}

const ONLY_FILES = "contexts may hold only files, directories and links";
const READ_DIFFERENTLY =
  "which tar programs read differently (the build's unpack step would not unpack what was checked)";

function linkProblem({ path, type, linkpath }: EntryHeader): string | undefined {
  const link = linkpath ?? "";
  if (UNREADABLE_NAME.test(link))
    return `link ${quoted(path)} has a line break or NUL in its target, ${READ_DIFFERENTLY}`;
  if ((type === "SymbolicLink" || type === "Link") && Buffer.byteLength(link) > MAX_PATH_BYTES) {
    return `link ${quoted(path)} has a target of ${Buffer.byteLength(link)} bytes, longer than the ${MAX_PATH_BYTES} a Linux path may hold`;
  }
  if (type === "SymbolicLink") {
    if (link.startsWith("/"))
      return `symlink ${quoted(path)} points to the absolute path ${quoted(link)}, outside the context`;
    const target = posix.normalize(posix.join(posix.dirname(path), link));
    if (target === ".." || target.startsWith("../"))
      return `symlink ${quoted(path)} points outside the context (${quoted(link)})`;
    if (climbsAfterDescending(link)) {
      // "a/l/.." is "a" only on paper: when a/l is itself a link, the kernel climbs from where a/l leads.
      return `symlink ${quoted(path)} points to ${quoted(link)}, which goes back up ("..") after going down; through another link that can leave the context, so only a leading "../" is allowed`;
    }
  }
  if (type === "Link") {
    const target = posix.normalize(link);
    if (link.startsWith("/") || target === ".." || target.startsWith("../")) {
      return `hard link ${quoted(path)} points outside the context (${quoted(link)})`;
    }
  }
  return undefined;
}

/** True when a ".." follows a name in the link: only a leading run of ".." is resolved the same on paper and on disk. */
function climbsAfterDescending(link: string): boolean {
  let descended = false;
  for (const name of link.split("/")) {
    if (name === "" || name === ".") continue;
    if (name !== "..") descended = true;
    else if (descended) return true;
  }
  return false;
}

/** PAX records node-tar applies and busybox tar (the unpack step) ignores: the two would frame or type entries differently. */
const FRAMING_KEYS = new Set(["size", "type"]);
const OLD_HEADERS: Record<string, string> = {
  OldGnuLongPath: "an old GNU long-name header (tar type N)",
  OldExtendedHeader: "a Solaris extended header (tar type X)",
};

/**
 * The rules an extended header's body must meet (node-tar reports a body
 * with its header's type; see archive-walk.ts). GNU long names and links
 * are judged as the names of the entry they describe. PAX records are read
 * by their length, as busybox tar reads them; node-tar reads them line by
 * line, so a malformed record or a value holding a line break means the two
 * see different names. A record setting the size or type of the next entry
 * is refused too: busybox ignores it and would read what follows as
 * entries this check never saw.
 */
export function extendedHeaderProblem(type: string | undefined, body: string): string | undefined {
  if (type === "NextFileHasLongPath" || type === "NextFileHasLongLinkpath") return undefined;
  if (type !== "ExtendedHeader" && type !== "GlobalExtendedHeader") {
    const old = OLD_HEADERS[type ?? ""] ?? `an extended header of type ${type}`;
    return `the context archive has ${old}, which the build's unpack step (busybox tar) does not read; pack it with a current tar`;
  }
  const what = type === "GlobalExtendedHeader" ? "global PAX header" : "PAX extended header";
  const bytes = Buffer.from(body);
  for (let at = 0; at < bytes.length; ) {
    const space = bytes.indexOf(0x20, at);
    const digits = space > at && space - at <= 12 ? bytes.toString("latin1", at, space) : "";
    const end = at + Number(digits);
    if (!/^\d+$/.test(digits) || end <= space + 1 || end > bytes.length || bytes[end - 1] !== 0x0a) {
      return `the context archive has a malformed ${what} (a record's length does not match it), ${READ_DIFFERENTLY}`;
    }
    const record = bytes.toString("utf8", space + 1, end - 1);
    const equals = record.indexOf("=");
    if (equals <= 0)
      return `the context archive has a malformed ${what} (a record without "key="), ${READ_DIFFERENTLY}`;
    const key = record.slice(0, equals);
    const value = record.slice(equals + 1);
    if (FRAMING_KEYS.has(key)) {
      return `the context archive has a ${what} that sets ${quoted(`${key}=${value}`)}, which the build's unpack step (busybox tar) ignores: it would read the following bytes differently, so the context is refused`;
    }
    if (value.includes("\n"))
      return `the context archive has a ${what} whose ${quoted(key)} value holds a line break, ${READ_DIFFERENTLY}`;
    at = end;
  }
  return undefined;
}

/** What named the next entry besides its header: a GNU long name or link (types L, K), a PAX path or linkpath. */
export interface NameSources {
  gnuName: boolean;
  gnuLink: boolean;
  paxPath: boolean;
  paxLinkpath: boolean;
}

export const noNameSources = (): NameSources => ({
  gnuName: false,
  gnuLink: false,
  paxPath: false,
  paxLinkpath: false,
});

/** Notes which names an extended header sets for the next entry. */
export function noteNameSources(sources: NameSources, type: string | undefined, body: string): void {
  if (type === "NextFileHasLongPath") sources.gnuName = true;
  else if (type === "NextFileHasLongLinkpath") sources.gnuLink = true;
  else if (type === "ExtendedHeader") {
    if (/(^|\n)\d+ path=/.test(body)) sources.paxPath = true;
    if (/(^|\n)\d+ linkpath=/.test(body)) sources.paxLinkpath = true;
  }
}

/**
 * An entry named both by a GNU long name and a PAX record: Go's archive/tar
 * (kaniko's unpack step) takes the GNU name, node-tar and busybox the PAX
 * one, so the entry checked would not be the entry unpacked.
 */
export function twoNamesProblem(path: string, sources: NameSources): string | undefined {
  const what =
    sources.gnuName && sources.paxPath
      ? "a GNU long name and a PAX path"
      : sources.gnuLink && sources.paxLinkpath
        ? "a GNU long link and a PAX linkpath"
        : undefined;
  return what && `entry ${quoted(path)} is named twice, by ${what}, ${READ_DIFFERENTLY}`;
}
