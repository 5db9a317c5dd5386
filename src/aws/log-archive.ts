import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";

export const logKey = (buildId: string) => `logs/${buildId}.log`;

/** Builder logs kept in S3 after the pods are gone. */
export interface LogArchive {
  /** Store the log; returns its location (s3://bucket/logs/<id>.log). */
  put(buildId: string, text: string): Promise<string>;
  get(buildId: string): Promise<string | undefined>;
}

export class S3LogArchive implements LogArchive {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(buildId: string, text: string): Promise<string> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: logKey(buildId),
        Body: text,
        ContentType: "text/plain; charset=utf-8",
      }),
    );
    return `s3://${this.bucket}/${logKey(buildId)}`;
  }

  async get(buildId: string): Promise<string | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: logKey(buildId) }));
      return await out.Body?.transformToString("utf8");
    } catch (error: unknown) {
      if (error instanceof NoSuchKey) return undefined;
      throw error;
    }
  }
}
