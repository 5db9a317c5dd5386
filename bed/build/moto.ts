import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Versions } from "../paths.js";
import { formatElapsed, type Progress } from "./progress.js";
import { runCommand } from "./run.js";

/**
 * moto server in a virtualenv of our own, pinned, under the cache. The extras
 * pull in what S3 notifications, DynamoDB conditions and the server need.
 * Returns the virtualenv's python.
 */
export async function ensureMoto(versions: Versions, cache: string, progress: Progress): Promise<string> {
  const venv = join(cache, `moto-${versions.moto}`);
  const python = join(venv, "bin", "python");
  const marker = join(venv, ".complete");
  if (existsSync(marker)) return python;

  const started = Date.now();
  progress(`installing moto ${versions.moto} into ${venv} (first run on this machine)`);
  await rm(venv, { recursive: true, force: true });
  const systemPython = process.env.DROPBUILD_PYTHON ?? "python3";
  await runCommand(systemPython, ["-m", "venv", venv]);
  await runCommand(python, [
    "-m",
    "pip",
    "install",
    "--disable-pip-version-check",
    "--quiet",
    `moto[server,s3,dynamodb,events,sqs,eks,sts]==${versions.moto}`,
  ]);
  await writeFile(marker, new Date().toISOString());
  progress(`moto installed in ${formatElapsed(Date.now() - started)}`);
  return python;
}
