import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatElapsed, type Progress } from "./progress.js";
import { runCommand } from "./run.js";

/**
 * The static analysers the test suite runs on the packaged CloudFormation
 * template and the rendered infra/k8s overlays, pinned here (they are not part
 * of the bed, so not in bed/versions.json).
 */
export const STATIC_ANALYSIS_VERSIONS = { cfnLint: "1.58.0", checkov: "3.3.30" } as const;

export interface StaticAnalysisTools {
  cfnLint: string;
  checkov: string;
}

/**
 * cfn-lint and checkov from PyPI in one virtualenv of their own under the
 * cache, keyed by both versions: installed on the first run on a machine
 * (about 35 s and 420 MB), found afterwards by its `.complete` marker.
 */
export async function ensureStaticAnalysisTools(cache: string, progress: Progress): Promise<StaticAnalysisTools> {
  const { cfnLint, checkov } = STATIC_ANALYSIS_VERSIONS;
  const venv = join(cache, `static-analysis-cfn-lint-${cfnLint}-checkov-${checkov}`);
  const tools = { cfnLint: join(venv, "bin", "cfn-lint"), checkov: join(venv, "bin", "checkov") };
  const complete = join(venv, ".complete");
  if (existsSync(complete)) return tools;

  const started = Date.now();
  progress(`installing cfn-lint ${cfnLint} and checkov ${checkov} into ${venv} (first run on this machine)`);
  // A half-made virtualenv from an interrupted install is started over.
  await rm(venv, { recursive: true, force: true });
  await runCommand(process.env.DROPBUILD_PYTHON ?? "python3", ["-m", "venv", venv]);
  const pip = ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--quiet"];
  await runCommand(join(venv, "bin", "python"), [...pip, `cfn-lint==${cfnLint}`, `checkov==${checkov}`]);
  await writeFile(complete, new Date().toISOString());
  progress(`cfn-lint and checkov installed in ${formatElapsed(Date.now() - started)}`);
  return tools;
}
