import { checkRepository, checkTag } from "./reference.js";
import { accept, type Checked, refuse } from "./result.js";

export const CONTEXTS_PREFIX = "contexts/";
export const CONTEXT_FORMATS = [
  { suffix: ".tar.gz", compression: "gzip" },
  { suffix: ".tgz", compression: "gzip" },
  { suffix: ".tar", compression: "none" },
] as const;
export type Compression = (typeof CONTEXT_FORMATS)[number]["compression"];
export type ContextFormat = (typeof CONTEXT_FORMATS)[number];

/** The context format a key's suffix names, if any. */
export const contextFormat = (key: string): ContextFormat | undefined =>
  CONTEXT_FORMATS.find((f) => key.endsWith(f.suffix));

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

const CONVENTION = `expected ${CONTEXTS_PREFIX}<repository>/<tag>.tar.gz (or .tgz, .tar)`;

/** A key split by the convention, before its names are checked. */
type KeyParts = { format: ContextFormat; repository: string; tag: string };

function splitContextKey(key: string): Checked<KeyParts> {
  if (!key.startsWith(CONTEXTS_PREFIX)) return refuse(`key "${key}" is not under ${CONTEXTS_PREFIX}: ${CONVENTION}`);
  const format = contextFormat(key);
  if (!format) return refuse(`key "${key}" does not end in .tar.gz, .tgz or .tar: ${CONVENTION}`);
  const path = key.slice(CONTEXTS_PREFIX.length, key.length - format.suffix.length);
  const slash = path.lastIndexOf("/");
  if (slash <= 0) return refuse(`key "${key}" names no repository: ${CONVENTION}`);
  return accept({ format, repository: path.slice(0, slash), tag: path.slice(slash + 1) });
}

/** `contexts/<repository>/<tag>.tar.gz|.tgz|.tar`, where the repository may contain `/`. */
export function parseContextKey(key: string, registry: string): Checked<ContextKey> {
  const parts = splitContextKey(key);
  if (!parts.ok) return parts;
  const repository = checkRepository(parts.value.repository, registry);
  if (!repository.ok) return repository;
  const tag = checkTag(parts.value.tag);
  if (!tag.ok) return tag;
  return accept({ key, repository: repository.value, tag: tag.value, compression: parts.value.format.compression });
}

/**
 * The valid part of a key that parseContextKey refused: its repository, when
 * that alone is right (an upload to contexts/team/api/with space.tar.gz is
 * team/api's, refused for its tag), so the rejection is found under it.
 */
export function repositoryInKey(key: string, registry: string): string | undefined {
  const parts = splitContextKey(key);
  if (!parts.ok) return undefined;
  const repository = checkRepository(parts.value.repository, registry);
  return repository.ok ? repository.value : undefined;
}
