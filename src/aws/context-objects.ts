import type { Readable } from "node:stream";
import { GetObjectCommand, NoSuchKey, NotFound, type S3Client, S3ServiceException } from "@aws-sdk/client-s3";

export interface ObjectRef {
  bucket: string;
  key: string;
  versionId?: string;
  /** Without a version id, reads are conditional on this etag, so a replaced object is not built by mistake. */
  etag?: string;
}

export interface ObjectHead {
  size: number;
  etag?: string;
  versionId?: string;
  /** User metadata, names lowercased, without the x-amz-meta- prefix. */
  metadata: Record<string, string>;
}

/** Reads uploaded contexts. */
export interface ContextObjects {
  /** Headers and body in one request; undefined when the object (or that version) no longer exists. */
  fetch(ref: ObjectRef): Promise<{ head: ObjectHead; body: Readable } | undefined>;
}

const isGone = (error: unknown) => {
  if (error instanceof NotFound || error instanceof NoSuchKey) return true;
  const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
  return status === 404 || status === 412;
};

const versionOf = (ref: ObjectRef) => (ref.versionId && ref.versionId !== "null" ? ref.versionId : undefined);
const conditionOf = (ref: ObjectRef) => (!versionOf(ref) && ref.etag ? `"${ref.etag.replaceAll('"', "")}"` : undefined);

export class S3ContextObjects implements ContextObjects {
  constructor(private readonly s3: S3Client) {}

  async fetch(ref: ObjectRef): Promise<{ head: ObjectHead; body: Readable } | undefined> {
    try {
      const object = await this.s3.send(
        new GetObjectCommand({
          Bucket: ref.bucket,
          Key: ref.key,
          VersionId: versionOf(ref),
          IfMatch: conditionOf(ref),
        }),
      );
      return {
        head: {
          size: object.ContentLength ?? 0,
          etag: object.ETag?.replaceAll('"', ""),
          versionId: object.VersionId,
          metadata: Object.fromEntries(Object.entries(object.Metadata ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
        },
        body: object.Body as Readable,
      };
    } catch (error: unknown) {
      if (isGone(error)) return undefined;
      throw error;
    }
  }
}
