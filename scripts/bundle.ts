/**
 * One small esbuild bundle per function for the Node.js 22 Lambda runtime,
 * AWS SDK v3 clients included (the runtime's copy is not relied on).
 *
 *   tsx scripts/bundle.ts [outdir]   → <outdir>/<function>/index.mjs
 */
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { repoRoot } from "../bed/paths.js";

export interface BundleResult {
  name: string;
  file: string;
  bytes: number;
}

export function functionNames(): string[] {
  return readdirSync(join(repoRoot, "functions"))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => f.replace(/\.ts$/, ""));
}

export async function bundleFunctions(outdir: string, names = functionNames()): Promise<BundleResult[]> {
  const results: BundleResult[] = [];
  for (const name of names) {
    const file = join(outdir, name, "index.mjs");
    await build({
      entryPoints: [join(repoRoot, "functions", `${name}.ts`)],
      outfile: file,
      bundle: true,
      platform: "node",
      target: "node22",
      format: "esm",
      minify: true,
      sourcemap: "linked",
      legalComments: "external",
      mainFields: ["module", "main"],
      // Some dependencies are CommonJS and call require(); give ESM output one.
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      logLevel: "warning",
    });
    results.push({ name, file, bytes: statSync(file).size });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outdir = resolve(process.argv[2] ?? join(repoRoot, "dist"));
  for (const result of await bundleFunctions(outdir)) {
    process.stdout.write(
      `${result.name.padEnd(10)} ${(result.bytes / 1024).toFixed(0).padStart(6)} KiB  ${result.file}\n`,
    );
  }
}
