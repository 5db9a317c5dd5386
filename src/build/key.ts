import { checkRepository, checkTag } from "./reference.js";
import { accept, type Checked, refuse } from "./result.js";

export const CONTEXTS_PREFIX = "contexts/";
export const CONTEXT_FORMATS = [
  { suffix: ".tar.gz", compression: "gzip" },
  { suffix: ".tgz", compression: "gzip" },
  { suffix: ".tar", compression: "none" },
] as const;
export type Compression = (typeof CONTEXT_FORMATS)[number]["compression"];

export interface ContextKey {
  /** The decoded object key. */
  key: string;
  repository: string;
  tag: string;
  compression: Compression;
}

/**
 * S3 event notifications carry the object key URL-encoded, with `+` for a
 * space (form encoding). Decode `+` first, then the percent escapes.
 */
export function decodeEventKey(encoded: string): Checked<string> {
  try {
    return accept(decodeURIComponent(encoded.replaceAll("+", " ")));
  } catch {
    return refuse(`object key "${encoded}" is not valid URL encoding`);
  }
}

/** `contexts/<repository>/<tag>.tar.gz|.tgz|.tar`, where the repository may contain `/`. */
export function parseContextKey(key: string, registry: string): Checked<ContextKey> {
  const convention = `expected ${CONTEXTS_PREFIX}<repository>/<tag>.tar.gz (or .tgz, .tar)`;
  if (!key.startsWith(CONTEXTS_PREFIX)) return refuse(`key "${key}" is not under ${CONTEXTS_PREFIX}: ${convention}`);
  const format = CONTEXT_FORMATS.find((f) => key.endsWith(f.suffix));
  if (!format) return refuse(`key "${key}" does not end in .tar.gz, .tgz or .tar: ${convention}`);
  const path = key.slice(CONTEXTS_PREFIX.length, key.length - format.suffix.length);
  const slash = path.lastIndexOf("/");
  if (slash <= 0) return refuse(`key "${key}" names no repository: ${convention}`);
  const repository = checkRepository(path.slice(0, slash), registry);
  if (!repository.ok) return repository;
  const tag = checkTag(path.slice(slash + 1));
  if (!tag.ok) return tag;
  return accept({ key, repository: repository.value, tag: tag.value, compression: format.compression });
}
