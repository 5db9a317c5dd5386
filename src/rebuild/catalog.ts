import {
  GetObjectTaggingCommand,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  type S3Client,
} from "@aws-sdk/client-s3";
import { CONTEXTS_PREFIX, parseContextKey } from "../build/key.js";

export interface ContextVersion {
  bucket: string;
  key: string;
  repository: string;
  tag: string;
  versionId?: string;
  etag?: string;
  lastModified: string;
  /** The newest entry for this key is a delete marker. */
  deleted: boolean;
}

/** The contexts in the bucket, as the rebuild schedule and events see them. */
export interface ContextCatalog {
  /** For each repository, its newest context (which may have been deleted). */
  newestPerRepository(): Promise<Map<string, ContextVersion>>;
  /** The current context of repository:tag, if any. */
  find(repository: string, tag?: string): Promise<ContextVersion | undefined>;
  /** Whether the context is opted into nightly rebuilds by its dropbuild-nightly=true tag. */
  optedIn(context: ContextVersion): Promise<boolean>;
}

export const NIGHTLY_TAG = "dropbuild-nightly";

export class S3ContextCatalog implements ContextCatalog {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  /** The latest entry (version or delete marker) of every key under contexts/. */
  private async latest(prefix = CONTEXTS_PREFIX): Promise<ContextVersion[]> {
    const out: ContextVersion[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    do {
      const page: ListObjectVersionsCommandOutput = await this.s3.send(
        new ListObjectVersionsCommand({
          Bucket: this.bucket,
          Prefix: prefix,
          KeyMarker: keyMarker,
          VersionIdMarker: versionMarker,
        }),
      );
      const entries = [
        ...(page.Versions ?? []).map((v) => ({ ...v, deleted: false })),
        ...(page.DeleteMarkers ?? []).map((d) => ({ ...d, ETag: undefined, deleted: true })),
      ];
      for (const entry of entries) {
        if (!entry.IsLatest || !entry.Key) continue;
        const parsed = parseContextKey(entry.Key, "");
        if (!parsed.ok) continue;
        out.push({
          bucket: this.bucket,
          key: entry.Key,
          repository: parsed.value.repository,
          tag: parsed.value.tag,
          versionId: entry.VersionId,
          etag: entry.ETag?.replaceAll('"', ""),
          lastModified: new Date(entry.LastModified ?? 0).toISOString(),
          deleted: entry.deleted,
        });
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker);
    return out;
  }

  async newestPerRepository(): Promise<Map<string, ContextVersion>> {
    const newest = new Map<string, ContextVersion>();
    for (const context of await this.latest()) {
      const current = newest.get(context.repository);
      if (!current || context.lastModified > current.lastModified) newest.set(context.repository, context);
    }
    return newest;
  }

  async find(repository: string, tag?: string): Promise<ContextVersion | undefined> {
    const candidates = (await this.latest(`${CONTEXTS_PREFIX}${repository}/`)).filter(
      (c) => c.repository === repository && !c.deleted && (tag === undefined || c.tag === tag),
    );
    return candidates.sort((a, b) => b.lastModified.localeCompare(a.lastModified))[0];
  }

  async optedIn(context: ContextVersion): Promise<boolean> {
    const { TagSet } = await this.s3.send(
      new GetObjectTaggingCommand({ Bucket: context.bucket, Key: context.key, VersionId: context.versionId }),
    );
    return (TagSet ?? []).some((t) => t.Key === NIGHTLY_TAG && t.Value === "true");
  }
}
