import { existsSync, readFileSync, statSync } from "node:fs";
import { join, posix, relative } from "node:path";
import { create } from "tar";
import { parseDockerignore } from "./dockerignore.js";

export class SubmitInputError extends Error {
  override name = "SubmitInputError";
}

export interface PackedContext {
  file: string;
  bytes: number;
  entries: number;
}

/**
 * Pack a directory as a build context (tar.gz), honouring its .dockerignore
 * the way `docker build` does. The Dockerfile and .dockerignore are always
 * sent, as Docker sends them.
 */
export async function packContext(dir: string, outFile: string, dockerfile = "Dockerfile"): Promise<PackedContext> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new SubmitInputError(`${dir} is not a directory`);
  if (!existsSync(join(dir, dockerfile))) throw new SubmitInputError(`no ${dockerfile} in ${dir}`);
  const ignorePath = join(dir, ".dockerignore");
  const ignored = existsSync(ignorePath) ? parseDockerignore(readFileSync(ignorePath, "utf8")) : () => false;
  const alwaysSent = new Set([posix.normalize(dockerfile), ".dockerignore"]);
  let entries = 0;
  await create(
    {
      gzip: true,
      file: outFile,
      cwd: dir,
      portable: true,
      follow: false,
      filter: (path) => {
        const rel = relative(".", path).split("\\").join("/") || ".";
        const keep = rel === "." || alwaysSent.has(rel) || !ignored(rel);
        if (keep) entries += 1;
        return keep;
      },
    },
    ["."],
  );
  return { file: outFile, bytes: statSync(outFile).size, entries };
}
