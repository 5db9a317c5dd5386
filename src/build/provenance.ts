import { rewriteSpans, type StageBase, stageBases } from "../dockerfile/stages.js";
import { type ManifestDigests, RegistryRefusedError } from "../registry/client.js";
import { formatReference, type ImageReference, parseImageReference, pullLocation } from "../registry/reference.js";
import { accept, type Checked, refuse } from "./result.js";

/** One build stage's base, as the Dockerfile names it and as the build was pinned to it. */
export interface StageProvenance {
  /** The stage's index (0 is the first FROM) and its name (FROM … AS name). */
  stage: number;
  name?: string;
  /** The FROM's image as written, variables and all. */
  reference: string;
  /** "image": pulled from a registry; "stage": an earlier stage; "scratch": nothing. */
  kind: StageBase["kind"];
  /** For images: the full reference after build args (`docker.io/library/busybox:1.37`; with its digest if the FROM named one). */
  image?: string;
  /** Where the builder pulls it from: the registry mirror for Docker Hub images, when one is configured. */
  pulledFrom?: string;
  /** The digest the reference resolved to before the build; the build ran from `image@digest`. */
  digest?: string;
}

/** What went into a build, and (once it succeeded) what came out. */
export interface Provenance {
  /** sha256 (hex) of the context object exactly as uploaded. */
  contextSha256: string;
  /** sha256 (hex) of the Dockerfile as found in the context. */
  dockerfileSha256: string;
  stages: StageProvenance[];
  /** Each destination and the digest the registry serves for it after the push (or why it could not be asked). */
  outputs?: { destination: string; digest?: string; note?: string }[];
}

/** The image a stage was built from, as a reference pinned by its digest; undefined for stages and scratch. */
export function pinnedImage(stage: StageProvenance): string | undefined {
  if (stage.kind !== "image" || !stage.image || !stage.digest) return undefined;
  const ref = parseImageReference(stage.image);
  return ref.ok ? formatReference({ ...ref.value, digest: stage.digest }) : undefined;
}

export interface PinnedBuild {
  stages: StageProvenance[];
  /** The Dockerfile with every registry image pinned by digest; what kaniko builds from. Absent when nothing was resolved. */
  dockerfile?: string;
}

/**
 * Resolve every base image of the stages a build runs to the digest the
 * registry serves now, and pin the Dockerfile to those digests, so that the
 * digests recorded are the ones built from (no second lookup that could race
 * a push to the tag). An image the registry does not have, or will not let
 * the configured login pull, is refused with its name; a registry that
 * cannot be asked throws (the caller retries). Without a registry
 * (simulated builds, which pull nothing) the stages are listed unresolved.
 */
export async function pinBaseImages(
  dockerfile: string,
  build: { buildArgs: Record<string, string>; target?: string },
  registry: ManifestDigests | undefined,
  mirror: string | undefined,
): Promise<Checked<PinnedBuild>> {
  const bases = stageBases(dockerfile, build.buildArgs, build.target);
  if (!bases.ok) return bases;
  const stages: StageProvenance[] = [];
  const pins: { span: { start: number; end: number }; text: string }[] = [];
  for (const base of bases.value) {
    const entry: StageProvenance = { stage: base.stage, name: base.name, reference: base.written, kind: base.kind };
    stages.push(entry);
    if (base.kind !== "image") continue;
    const ref = parseImageReference(base.image);
    if (!ref.ok) return refuse(`the base image of stage ${base.stage}: ${ref.reason}`);
    const from = pullLocation(ref.value, mirror);
    // A FROM that names a digest keeps it: a later check of the inputs asks for exactly that image.
    entry.image = formatReference(ref.value);
    entry.pulledFrom = formatReference({ ...from, digest: undefined });
    if (!registry) continue;
    const digest = await askDigest(registry, from);
    if (typeof digest === "object")
      return refuse(`the base image ${base.image} of stage ${base.stage}: ${digest.refused}`);
    if (!digest) {
      const via = from.registry === ref.value.registry ? "" : ` (asked at ${formatReference(from)})`;
      return refuse(`the base image ${base.image} of stage ${base.stage} does not exist in its registry${via}`);
    }
    if (ref.value.digest && ref.value.digest !== digest) {
      return refuse(`the base image ${base.image} is served with digest ${digest}, not the one it names`);
    }
    entry.digest = digest;
    pins.push({ span: base.span, text: ref.value.digest ? base.image : `${base.image}@${digest}` });
  }
  return accept({ stages, dockerfile: registry ? rewriteSpans(dockerfile, pins) : undefined });
}

/** The registry's answer, or why it refused for good; unreachable or throttled throws. */
async function askDigest(
  registry: ManifestDigests,
  ref: ImageReference,
): Promise<string | undefined | { refused: string }> {
  try {
    return await registry.digestOf(ref);
  } catch (error: unknown) {
    if (error instanceof RegistryRefusedError) return { refused: error.message };
    throw error;
  }
}
