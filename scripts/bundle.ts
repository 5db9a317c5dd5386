/**
 * One small esbuild bundle per function for the Node.js 24 Lambda runtime,
 * AWS SDK v3 clients included (the runtime's copy is not relied on).
 *
 *   tsx scripts/bundle.ts [outdir]   → <outdir>/<function>/index.mjs
 */
import { createWriteStream, readdirSync, statSync } from "node:fs";
import { isBuiltin } from "node:module";
import { join, resolve } from "node:path";
import { build, type Plugin } from "esbuild";
import { ZipFile } from "yazl";
import { repoRoot } from "../bed/paths.js";

export interface BundleResult {
  name: string;
  file: string;
  bytes: number;
  /** The deployment package: <outdir>/<function>.zip holding index.mjs. */
  zip: string;
  zipBytes: number;
}

/** A Lambda deployment package: index.mjs at the root, fixed timestamps so identical code zips identically. */
function zipBundle(file: string, zipPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const zip = new ZipFile();
    zip.addFile(file, "index.mjs", { mtime: new Date("2026-01-01T00:00:00Z"), mode: 0o644 });
    zip.outputStream
      .pipe(createWriteStream(zipPath))
      .on("close", () => resolve())
      .on("error", reject);
    zip.end();
  });
}

/**
 * Node's built-in modules through the bundle's require(), not import. An ESM
 * import of a built-in builds its whole namespace, reading every export, lazy
 * ones included: on Node.js 24 `import ... from "node:http"` reads
 * http.WebSocket and so loads Node's bundled undici (about 30 ms of a cold
 * start; crypto, https and process cost a few ms more each). require() returns
 * the module object and a lazy export loads only if it is used.
 */
const builtinsThroughRequire: Plugin = {
  name: "builtins-through-require",
  setup(b) {
    b.onResolve({ filter: /^(node:)?[a-z_]+(\/[a-z_]+)?$/ }, (args) =>
      args.namespace !== "builtin" && isBuiltin(args.path)
        ? { path: args.path.replace(/^node:/, ""), namespace: "builtin" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "builtin" }, (args) => ({
      contents: `module.exports = require("node:${args.path}");`,
      loader: "js",
    }));
  },
};

/** The Lambda runtime serverless.yml deploys the functions on; the bundles are built for it. */
export const LAMBDA_RUNTIME = "nodejs24.x";
const ESBUILD_TARGET = LAMBDA_RUNTIME.replace(/^nodejs(\d+)\.x$/, "node$1");

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
      target: ESBUILD_TARGET,
      format: "esm",
      minify: true,
      sourcemap: false,
      legalComments: "external",
      mainFields: ["module", "main"],
      // Some dependencies are CommonJS and call require(); give ESM output one.
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
      logLevel: "warning",
      plugins: [builtinsThroughRequire],
    });
    const zip = join(outdir, `${name}.zip`);
    await zipBundle(file, zip);
    results.push({ name, file, bytes: statSync(file).size, zip, zipBytes: statSync(zip).size });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const outdir = resolve(process.argv[2] ?? join(repoRoot, "dist"));
  for (const result of await bundleFunctions(outdir)) {
    process.stdout.write(
      `${result.name.padEnd(10)} ${(result.bytes / 1024).toFixed(0).padStart(6)} KiB bundle ${(result.zipBytes / 1024).toFixed(0).padStart(6)} KiB zip  ${result.zip}\n`,
    );
  }
}
