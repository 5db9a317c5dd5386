import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand } from "../build/run.js";
import type { RealNodeInfo } from "./node.js";

/**
 * Ask the bed registry itself (with crane, a registry client) what it holds:
 * never the termination message or the record. Authenticates with the bed's
 * credentials and trusts the bed's CA.
 */
export async function craneIn<T>(
  node: RealNodeInfo,
  use: (crane: (args: string[]) => Promise<string>) => Promise<T>,
): Promise<T> {
  const dockerConfig = await mkdtemp(join(tmpdir(), "dropbuild-crane-"));
  try {
    await writeFile(join(dockerConfig, "config.json"), node.registry.dockerConfigJson);
    const env = { ...process.env, DOCKER_CONFIG: dockerConfig, SSL_CERT_FILE: node.registry.caFile };
    return await use((args) => runCommand(node.tools.crane, args, { env }).then((out) => out.trim()));
  } finally {
    await rm(dockerConfig, { recursive: true, force: true });
  }
}

/** The digest the registry serves for `repository:tag`, or undefined when it has no such tag. */
export function registryDigest(node: RealNodeInfo, image: string): Promise<string | undefined> {
  return craneIn(node, (crane) => crane(["digest", `${node.registry.host}/${image}`]).catch(() => undefined));
}

/** The tags the registry holds for a repository (empty when none). */
export function registryTags(node: RealNodeInfo, repository: string): Promise<string[]> {
  return craneIn(node, async (crane) => {
    const out = await crane(["ls", `${node.registry.host}/${repository}`]).catch(() => "");
    return out.split("\n").filter(Boolean);
  });
}
