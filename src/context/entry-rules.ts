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

const ALLOWED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);
const SPECIAL_TYPES: Record<string, string> = {
  CharacterDevice: "a character device",
  BlockDevice: "a block device",
  FIFO: "a fifo",
};

/** A path as a reason quotes it: long hostile paths would drown the message. */
export function quoted(path: string): string {
  return JSON.stringify(path.length > 120 ? `${path.slice(0, 60)}…${path.slice(-40)}` : path);
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
  if (special) return `entry ${quoted(path)} is ${special}; contexts may hold only files, directories and links`;
  if (type === "SparseFile") return sparseFileReason(path);
  if (!ALLOWED_TYPES.has(type)) return `entry ${quoted(path)} has unsupported type ${type}`;
  return undefined;
}

function linkProblem({ path, type, linkpath }: EntryHeader): string | undefined {
  const link = linkpath ?? "";
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
