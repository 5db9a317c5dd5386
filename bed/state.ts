import { existsSync, readFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { RealNodeInfo } from "./node/node.js";
import type { DaemonRecord } from "./processes.js";

/** What `bed:up` prints, and what tests read to reach the bed. */
export interface BedInfo {
  stateDir: string;
  aws: {
    endpoint: string;
    region: string;
    accessKeyId: string;
    secretAccessKey: string;
  };
  cluster: {
    name: string;
    endpoint: string;
    caFile: string;
    kubernetesVersion: string;
  };
  kubeconfigs: {
    /** system:masters client certificate. */
    admin: string;
    /** EKS-style exec token for the functions' IAM role. */
    functions: string;
  };
  identities: Record<string, { arn: string; accessKeyId: string; secretAccessKey: string }>;
  /** IAM credentials and access entries the token webhook honours; tests may rewrite it. */
  iamFile: string;
  kubectl: string;
  /** The kwok (simulated) nodes. */
  nodes: string[];
  /** The real node and its registry, unless the bed was started without it. */
  node?: RealNodeInfo;
  logs: Record<string, string>;
}

export interface BedState {
  daemons: DaemonRecord[];
  info?: BedInfo;
}

export const stateFile = (stateDir: string) => join(stateDir, "state.json");

export function readState(stateDir: string): BedState | undefined {
  const file = stateFile(stateDir);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as BedState;
}

export async function writeState(stateDir: string, state: BedState): Promise<void> {
  await writeJsonAtomically(stateFile(stateDir), state);
}

/**
 * Write JSON so that a reader in another process sees the old file or the new
 * one, never half of it: to a temporary file beside it, then rename.
 */
export async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  const partial = `${path}.${process.pid}.partial`;
  await writeFile(partial, JSON.stringify(value, null, 2));
  await rename(partial, path);
}
