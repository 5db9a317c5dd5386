import type { StageProvenance } from "../build/provenance.js";
import type { BuildRecord } from "../build/record.js";
import { type ManifestDigests, RegistryRefusedError, RegistryUnavailableError } from "../registry/client.js";
import { type ImageReference, parseImageReference, pullLocation } from "../registry/reference.js";
import type { BuildQueries } from "../store/ports.js";
import type { ContextVersion } from "./catalog.js";

/** NIGHTLY_REBUILD: rebuild every opted-in context, or only those whose inputs changed. */
export type RebuildPolicy = "always" | "changed";

export interface InputsDeps {
  queries: BuildQueries;
  /** Where base images are resolved now; absent (simulated builds): nothing can be judged unchanged. */
  registry?: ManifestDigests;
  /** KANIKO_REGISTRY_MIRROR, as the trigger resolves through it. */
  mirror?: string;
}

/** The context's inputs are those of an earlier successful build, or why they are not. */
export type InputsVerdict =
  | { unchanged: true; since: BuildRecord; stages: StageProvenance[] }
  | { unchanged: false; why: string };

/** How many of a repository's newest successful builds are looked through for this context's last one. */
const SEARCH_LIMIT = 200;

/**
 * Whether rebuilding a context would build from the same inputs as its last
 * successful build: the same object version (so the same Dockerfile, build
 * args and metadata), and every base image still resolving to the digest
 * that build was pinned to. Asked of the registry now, through the mirror,
 * as the trigger would resolve them. Anything it cannot confirm counts as
 * changed, so a doubt always means a rebuild.
 */
export async function judgeInputs(context: ContextVersion, deps: InputsDeps): Promise<InputsVerdict> {
  const changed = (why: string): InputsVerdict => ({ unchanged: false, why });
  if (!deps.registry) return changed("base images cannot be resolved here (simulated builds)");
  const since = await lastSuccess(context, deps.queries);
  if (!since) return changed("no successful build of this context version is recorded");
  const stages = since.provenance?.stages;
  if (!stages) return changed(`its last build ${since.id} recorded no provenance`);
  const now: StageProvenance[] = [];
  for (const stage of stages) {
    if (stage.kind !== "image") {
      now.push(stage);
      continue;
    }
    const ref = stage.image ? parseImageReference(stage.image) : undefined;
    if (!ref?.ok || !stage.digest)
      return changed(`its last build ${since.id} recorded no digest for stage ${stage.stage}`);
    const digest = await resolve(deps.registry, pullLocation(ref.value, deps.mirror));
    if (typeof digest === "object") return changed(`could not resolve base image ${stage.image}: ${digest.error}`);
    if (digest !== stage.digest) {
      return changed(`base image ${stage.image} is now ${digest ?? "gone"}, was ${stage.digest} at build ${since.id}`);
    }
    now.push({ ...stage, digest });
  }
  return { unchanged: true, since, stages: now };
}

/** The newest successful build of exactly this object version (upload or rebuild). */
async function lastSuccess(context: ContextVersion, queries: BuildQueries): Promise<BuildRecord | undefined> {
  let cursor: string | undefined;
  let seen = 0;
  do {
    const page = await queries.query({ repository: context.repository, status: "SUCCEEDED", limit: 50, cursor });
    const found = page.records.find((r) => sameVersion(r, context));
    if (found) return found;
    seen += page.records.length;
    cursor = page.cursor;
  } while (cursor && seen < SEARCH_LIMIT);
  return undefined;
}

function sameVersion(record: BuildRecord, context: ContextVersion): boolean {
  const { source } = record;
  if (source.bucket !== context.bucket || source.key !== context.key) return false;
  const versioned = context.versionId && context.versionId !== "null";
  return versioned ? source.versionId === context.versionId : source.etag === context.etag;
}

/** The digest now (undefined: the registry has it no more), or why the registry could not say. */
async function resolve(
  registry: ManifestDigests,
  ref: ImageReference,
): Promise<string | undefined | { error: string }> {
  try {
    return await registry.digestOf(ref);
  } catch (error: unknown) {
    if (error instanceof RegistryRefusedError || error instanceof RegistryUnavailableError) {
      return { error: error.message };
    }
    throw error;
  }
}
