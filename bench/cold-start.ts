import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { join } from "node:path";
import { bundleFunctions } from "../scripts/bundle.js";
import { median } from "./stats.js";

const RUNS = 10;
/** Configuration the functions validate at import, as Lambda would give them. */
const FUNCTION_ENV = {
  AWS_REGION: "eu-west-1",
  BUILDS_TABLE: "bench",
  CONTEXTS_BUCKET: "bench-bucket",
  CLUSTER_NAME: "bench",
  REGISTRY: "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
  AWS_ACCESS_KEY_ID: "bench",
  AWS_SECRET_ACCESS_KEY: "bench",
};

function timeNode(script: string): number {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, ...FUNCTION_ENV },
    encoding: "utf8",
  });
  return Number(out.trim());
}

export interface ColdStartFigure {
  name: string;
  bytes: number;
  importMs: number;
}

/**
 * Each bundle's size, and the time a fresh node process spends importing it
 * (module evaluation: what Lambda's init phase pays), minus a bare start.
 */
export async function coldStart(outdir: string): Promise<ColdStartFigure[]> {
  const bundles = await bundleFunctions(outdir);
  const figures: ColdStartFigure[] = [];
  const bare = `const t=performance.now(); await import("node:path"); console.log(performance.now()-t)`;
  for (const bundle of bundles) {
    const script = `const t=performance.now(); await import(${JSON.stringify(`file://${bundle.file}`)}); console.log(performance.now()-t)`;
    const times: number[] = [];
    const bares: number[] = [];
    for (let i = 0; i < RUNS; i += 1) {
      times.push(timeNode(script));
      bares.push(timeNode(bare));
    }
    figures.push({
      name: bundle.name,
      bytes: statSync(join(outdir, bundle.name, "index.mjs")).size,
      importMs: median(times) - median(bares),
    });
  }
  return figures;
}
