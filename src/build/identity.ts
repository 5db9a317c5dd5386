import { createHash } from "node:crypto";

export interface SourceObject {
  bucket: string;
  /** Decoded object key. */
  key: string;
  versionId?: string;
  etag?: string;
}

/**
 * A build's id is derived from what was uploaded, so S3's at-least-once
 * delivery of the same event always yields the same id (and Job name and
 * record), while a new upload to the same key (new version or etag) is a new
 * build. 16 hex characters: 64 bits, collision-free in practice for one bucket.
 */
export function buildIdFor(source: SourceObject, variant?: string): string {
  // "null" is the version id S3 reports for objects written while versioning was off.
  const versioned = source.versionId && source.versionId !== "null";
  const revision = versioned ? source.versionId : `etag:${(source.etag ?? "").replaceAll('"', "")}`;
  const parts = [source.bucket, source.key, revision];
  if (variant) parts.push(variant);
  return createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 16);
}

export const jobNameFor = (buildId: string) => `dropbuild-${buildId}`;
