import { createHash } from "node:crypto";
import { quoted } from "./entry-rules.js";

/**
 * Two 32-bit FNV-style hashes of a path, 53 bits of them kept: exact in a
 * double, and extended one character at a time, so every prefix of a path is
 * hashed in one pass.
 */
const step1 = (h: number, c: number) => Math.imul(h ^ c, 0x01000193);
const step2 = (h: number, c: number) => Math.imul(h ^ c, 0x5bd1e995) ^ (h >>> 15);
const key = (a: number, b: number) => (a >>> 0) * 2_097_152 + (b >>> 11);
const SEED1 = 0x811c9dc5;
const SEED2 = 0x9747b28c;
const SLASH = 0x2f;

/**
 * What the archive has made so far, as far as links need to know. A link
 * checked on its own (entry-rules.ts) is judged on paper; tar unpacks it on
 * disk, where earlier entries change what a path means:
 *
 *   a -> .          (fine on its own)
 *   a/l -> ../x     (on paper: x; on disk a/l is ./l, so ../x leaves the context)
 *   d/l -> ../x     (fine on its own: x)
 *   h  => d/l       (a hard link to the symlink: the same "../x", now read from the top)
 *
 * So no entry may be written through a symlink, and a hard link must name a
 * regular file earlier in the archive. A later entry of the same name
 * replaces an earlier one, as tar unpacks it (the last wins), except that
 * tar cannot replace a directory with anything else, nor anything else with
 * a directory: the unpack step would fail, so such a pair is refused here.
 * (Directories made implicitly, as the parents of other entries, are not
 * tracked: that would cost a set entry per path component.) Memory stays
 * small whatever the paths: symlinks are kept as 53-bit hashes (a collision
 * can only reject, never admit), regular files and directories as SHA-256
 * digests (a collision would admit).
 */
export class LinkLedger {
  private readonly symlinks = new Set<number>();
  /**
   * A bit per hash bucket, so most prefixes are ruled out without a Set
   * lookup (a boxed number each). 1 MB, so made with the first symlink:
   * most contexts have none, and every upload's inspection makes a ledger.
   */
  private maybeSymlink: Uint32Array | undefined;
  private deepestSymlink = 0;
  private readonly files = new Set<string>();
  private readonly directories = new Set<string>();

  /** Record a normalised entry (no "./", no trailing "/"); returns why it may not be unpacked, if so. */
  admit(path: string, type: string, linkpath = ""): string | undefined {
    const through = this.symlinkAbove(path);
    if (through !== undefined) {
      return `entry ${quoted(path)} lies inside ${quoted(through)}, which is a symlink: unpacking would write wherever that link leads`;
    }
    if (type === "Link" && !this.files.has(digest(linkpath))) {
      return `hard link ${quoted(path)} points to ${quoted(linkpath)}, which is not a regular file earlier in the context`;
    }
    const self = digest(path);
    const clash = this.clash(path, self, type === "Directory");
    if (clash) return clash;
    const regular = type === "File" || type === "OldFile" || type === "ContiguousFile" || type === "Link";
    if (regular) this.files.add(self);
    else this.files.delete(self);
    if (type === "SymbolicLink") this.addSymlink(path);
    if (type === "Directory") this.directories.add(self);
    return undefined;
  }

  /** Why tar could not unpack this entry over an earlier one of the same name, if so. */
  private clash(path: string, self: string, directory: boolean): string | undefined {
    // The context's root ("" or ".") is a directory whatever an entry says.
    if (path === "" || path === ".") return undefined;
    if (!directory && this.directories.has(self)) {
      return `entry ${quoted(path)} would replace the directory of the same name made earlier in the context, which tar cannot do (the unpack step would fail)`;
    }
    if (directory && (this.files.has(self) || this.isSymlink(path))) {
      return `directory ${quoted(path)} would replace a file or link of the same name made earlier in the context, which tar cannot do (the unpack step would fail)`;
    }
    return undefined;
  }

  private isSymlink(path: string): boolean {
    if (this.symlinks.size === 0) return false;
    let a = SEED1;
    let b = SEED2;
    for (let i = 0; i < path.length; i++) {
      a = step1(a, path.charCodeAt(i));
      b = step2(b, path.charCodeAt(i));
    }
    return this.symlinks.has(key(a, b));
  }

  private addSymlink(path: string): void {
    let a = SEED1;
    let b = SEED2;
    let depth = 1;
    for (let i = 0; i < path.length; i++) {
      const c = path.charCodeAt(i);
      if (c === SLASH) depth += 1;
      a = step1(a, c);
      b = step2(b, c);
    }
    this.symlinks.add(key(a, b));
    this.maybeSymlink ??= new Uint32Array(1 << 18);
    const bucket = a >>> 14;
    this.maybeSymlink[bucket] = (this.maybeSymlink[bucket] ?? 0) | (1 << (a & 31));
    this.deepestSymlink = Math.max(this.deepestSymlink, depth);
  }

  /** The first directory above `path` that is a known symlink; one pass over the path. */
  private symlinkAbove(path: string): string | undefined {
    const maybeSymlink = this.maybeSymlink;
    if (this.symlinks.size === 0 || !maybeSymlink) return undefined;
    let a = SEED1;
    let b = SEED2;
    let depth = 0;
    for (let i = 0; i < path.length; i++) {
      const c = path.charCodeAt(i);
      if (c === SLASH) {
        depth += 1;
        const bucket = maybeSymlink[a >>> 14] ?? 0;
        if (bucket & (1 << (a & 31)) && this.symlinks.has(key(a, b))) return path.slice(0, i);
        if (depth >= this.deepestSymlink) return undefined;
      }
      a = step1(a, c);
      b = step2(b, c);
    }
    return undefined;
  }
}

const digest = (path: string) => createHash("sha256").update(path).digest("base64");
