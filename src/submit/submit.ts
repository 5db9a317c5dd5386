import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { buildIdFor } from "../build/identity.js";
import { CONTEXTS_PREFIX } from "../build/key.js";
import { checkRepository, checkTag } from "../build/reference.js";
import { METADATA } from "../build/spec.js";
import { packContext, SubmitInputError } from "./pack.js";

export interface SubmitOptions {
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  target?: string;
  extraTags?: string[];
  /** Opt this context into nightly rebuilds (object tag dropbuild-nightly=true). */
  nightly?: boolean;
}

export interface Submitted {
  id: string;
  bucket: string;
  key: string;
  versionId?: string;
  bytes: number;
  entries: number;
}

/** `repository:tag`, each checked against the OCI rules before anything is uploaded. */
export function parseImage(image: string): { repository: string; tag: string } {
  const colon = image.lastIndexOf(":");
  if (colon <= 0 || image.indexOf("/", colon) !== -1)
    throw new SubmitInputError(`--image "${image}" must be <repository>:<tag>`);
  const repository = checkRepository(image.slice(0, colon), "");
  if (!repository.ok) throw new SubmitInputError(repository.reason);
  const tag = checkTag(image.slice(colon + 1));
  if (!tag.ok) throw new SubmitInputError(tag.reason);
  return { repository: repository.value, tag: tag.value };
}

/**
 * Pack a directory and upload it as contexts/<repository>/<tag>.tar.gz. The
 * build id is known as soon as S3 answers (it is derived from the upload), so
 * the caller can wait for that exact build.
 */
export async function submitDirectory(
  dir: string,
  image: string,
  options: SubmitOptions,
  deps: { s3: S3Client; bucket: string },
): Promise<Submitted> {
  const { repository, tag } = parseImage(image);
  const key = `${CONTEXTS_PREFIX}${repository}/${tag}.tar.gz`;
  const work = await mkdtemp(join(tmpdir(), "dropbuild-submit-"));
  try {
    const packed = await packContext(dir, join(work, "context.tar.gz"), options.dockerfile);
    const metadata: Record<string, string> = {};
    if (options.dockerfile) metadata[METADATA.dockerfile] = options.dockerfile;
    if (options.buildArgs && Object.keys(options.buildArgs).length)
      metadata[METADATA.buildArgs] = JSON.stringify(options.buildArgs);
    if (options.target) metadata[METADATA.target] = options.target;
    if (options.extraTags?.length) metadata[METADATA.extraTags] = options.extraTags.join(",");
    const out = await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: key,
        Body: createReadStream(packed.file),
        ContentLength: packed.bytes,
        ContentType: "application/gzip",
        Metadata: metadata,
        Tagging: options.nightly ? "dropbuild-nightly=true" : undefined,
      }),
    );
    const id = buildIdFor({ bucket: deps.bucket, key, versionId: out.VersionId, etag: out.ETag });
    return { id, bucket: deps.bucket, key, versionId: out.VersionId, bytes: packed.bytes, entries: packed.entries };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
