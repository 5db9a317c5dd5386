import { readFile, rename, writeFile } from "node:fs/promises";
import { z } from "zod";

/**
 * The bed's stand-in for IAM plus EKS access entries: which credentials exist
 * (so signatures can be checked) and which principals map to which Kubernetes
 * user and groups. Tests change it with `writeIamFile`; the webhook rereads it
 * on every review.
 */
export const IamFile = z.object({
  credentials: z.array(
    z.object({
      accessKeyId: z.string().min(1),
      secretAccessKey: z.string().min(1),
      sessionToken: z.string().optional(),
      arn: z.string().startsWith("arn:"),
    }),
  ),
  accessEntries: z.array(
    z.object({
      principalArn: z.string().startsWith("arn:"),
      username: z.string().optional(),
      groups: z.array(z.string()),
    }),
  ),
});
export type IamFile = z.infer<typeof IamFile>;

export async function readIamFile(path: string): Promise<IamFile> {
  return IamFile.parse(JSON.parse(await readFile(path, "utf8")));
}

/** Atomic replace, so the webhook never reads half a file. */
export async function writeIamFile(path: string, contents: IamFile): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(IamFile.parse(contents), null, 2));
  await rename(temp, path);
}
