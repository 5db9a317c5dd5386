import { posix } from "node:path";
import type { ContextKey } from "./key.js";
import { checkTag } from "./reference.js";
import { accept, type Checked, refuse } from "./result.js";

/** Object metadata a user may set on the context (S3 lowercases the names). */
export const METADATA = {
  dockerfile: "dockerfile",
  buildArgs: "build-args",
  target: "target",
  extraTags: "extra-tags",
} as const;

export interface BuildSpec {
  repository: string;
  tag: string;
  /** The tag plus any extra tags, each pushed. */
  tags: string[];
  /** `<registry>/<repository>:<tag>` for every tag. */
  destinations: string[];
  /** Path of the Dockerfile inside the context. */
  dockerfile: string;
  buildArgs: Record<string, string>;
  target?: string;
  /**
   * The Dockerfile kaniko builds: the context's own with every base image
   * pinned by digest (build/provenance.ts). Absent: the context's own file.
   */
  pinnedDockerfile?: string;
}

const BUILD_ARG_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const STAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MAX_BUILD_ARGS = 100;

/** A relative path inside the context, normalised (`./a//b` → `a/b`); no absolute or `..` paths. */
export function checkContextPath(path: string, what: string): Checked<string> {
  if (path.length === 0) return refuse(`${what} is empty`);
  if (path.startsWith("/")) return refuse(`${what} "${path}" is absolute; give a path inside the context`);
  const normal = posix.normalize(path);
  if (normal === ".." || normal.startsWith("../")) return refuse(`${what} "${path}" points outside the context`);
  if (normal === "." || normal.endsWith("/")) return refuse(`${what} "${path}" is a directory, not a file`);
  return accept(normal);
}

export function parseBuildArgs(raw: string | undefined): Checked<Record<string, string>> {
  if (raw === undefined || raw.trim() === "") return accept({});
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return refuse(`build-args metadata is not JSON: expected an object such as {"VERSION":"1.2"}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return refuse(`build-args metadata must be a JSON object of names to values, such as {"VERSION":"1.2"}`);
  }
  const entries = Object.entries(parsed);
  if (entries.length > MAX_BUILD_ARGS)
    return refuse(`build-args has ${entries.length} entries; at most ${MAX_BUILD_ARGS}`);
  const args: Record<string, string> = {};
  for (const [name, value] of entries) {
    if (!BUILD_ARG_NAME.test(name)) return refuse(`build-arg name "${name}" is not a valid ARG name`);
    if (typeof value === "string") args[name] = value;
    else if (typeof value === "number" || typeof value === "boolean") args[name] = String(value);
    else return refuse(`build-arg ${name} must be a string, number or boolean`);
  }
  return accept(args);
}

/** Each tag is a push of the whole image manifest; more than this is a mistake, not a release. */
export const MAX_EXTRA_TAGS = 20;

export function parseExtraTags(raw: string | undefined): Checked<string[]> {
  if (raw === undefined) return accept([]);
  const tags: string[] = [];
  for (const candidate of raw.split(",").map((t) => t.trim())) {
    if (candidate === "") continue;
    const tag = checkTag(candidate);
    if (!tag.ok) return refuse(`extra-tags: ${tag.reason}`);
    tags.push(tag.value);
  }
  const distinct = new Set(tags).size;
  if (distinct > MAX_EXTRA_TAGS)
    return refuse(`extra-tags: ${distinct} tags, more than the limit of ${MAX_EXTRA_TAGS}`);
  return accept(tags);
}

/** Build spec from the key and the object's metadata; rejects bad metadata with its reason. */
export function buildSpecFrom(
  key: ContextKey,
  metadata: Record<string, string | undefined>,
  defaults: { registry: string; dockerfile: string },
): Checked<BuildSpec> {
  const dockerfile = checkContextPath(metadata[METADATA.dockerfile] ?? defaults.dockerfile, "dockerfile");
  if (!dockerfile.ok) return dockerfile;
  const buildArgs = parseBuildArgs(metadata[METADATA.buildArgs]);
  if (!buildArgs.ok) return buildArgs;
  const extraTags = parseExtraTags(metadata[METADATA.extraTags]);
  if (!extraTags.ok) return extraTags;
  const target = metadata[METADATA.target]?.trim() || undefined;
  if (target !== undefined && !STAGE_NAME.test(target)) return refuse(`target "${target}" is not a valid stage name`);
  const tags = [...new Set([key.tag, ...extraTags.value])];
  return accept({
    repository: key.repository,
    tag: key.tag,
    tags,
    destinations: tags.map((tag) => `${defaults.registry}/${key.repository}:${tag}`),
    dockerfile: dockerfile.value,
    buildArgs: buildArgs.value,
    target,
  });
}
