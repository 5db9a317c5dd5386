import { gzipSync } from "node:zlib";
import { Header } from "tar";

export interface TarEntrySpec {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice" | "BlockDevice" | "FIFO";
  body?: string | Buffer;
  linkpath?: string;
}

/**
 * Build a tar archive byte by byte, so tests can make hostile contexts
 * (absolute paths, devices, escaping links) that ordinary tools refuse to make.
 */
export function tarArchive(entries: TarEntrySpec[], options: { endMarker?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? "");
    const type = entry.type ?? "File";
    const header = new Header({
      path: entry.path,
      type,
      linkpath: entry.linkpath,
      size: type === "File" ? body.length : 0,
      mode: type === "Directory" ? 0o755 : 0o644,
      mtime: new Date("2026-01-01T00:00:00Z"),
      uid: 0,
      gid: 0,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === "File" && body.length > 0) {
      const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
      body.copy(padded);
      blocks.push(padded);
    }
  }
  if (options.endMarker !== false) blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export const gzip = (data: Buffer) => gzipSync(data);

/** A small valid context: a Dockerfile and one source file. */
export function sampleContext(
  dockerfile = "FROM public.ecr.aws/docker/library/alpine:3.20\nCOPY app.txt /app.txt\n",
): Buffer {
  return tarArchive([
    { path: "./", type: "Directory" },
    { path: "./Dockerfile", body: dockerfile },
    { path: "./app.txt", body: "hello from dropbuild\n" },
  ]);
}
