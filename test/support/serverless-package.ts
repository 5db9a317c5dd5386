import { copyFile, mkdir, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCommand } from "../../bed/build/run.js";
import { repoRoot } from "../../bed/paths.js";
import { bundleFunctions } from "../../scripts/bundle.js";

export type Resource = {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: unknown;
  Metadata?: Record<string, unknown>;
};
export type Template = { Resources: Record<string, Resource> };

export interface PackagedService {
  /** The directory osls packaged into; remove() deletes it. */
  dir: string;
  /** The CloudFormation template osls would deploy (`cloudformation-template-update-stack.json`). */
  templateFile: string;
  template: Template;
  remove: () => Promise<void>;
}

/**
 * Bundle the functions and `osls package` serverless.yml offline (stage ci,
 * eu-west-1), as CI would. Test files may do this at the same time: each
 * packages into a directory of its own, and the zips serverless.yml names in
 * dist/ are replaced whole (bundled elsewhere, then renamed into place), so
 * no packaging ever reads a half-written one. (osls also deletes the
 * repository's .serverless/ each time; nothing here reads it.)
 */
export async function packageServerless(): Promise<PackagedService> {
  const work = await mkdtemp(join(tmpdir(), "dropbuild-package-"));
  const dist = join(repoRoot, "dist");
  await mkdir(dist, { recursive: true });
  for (const bundle of await bundleFunctions(join(work, "bundles"))) {
    const target = join(dist, `${bundle.name}.zip`);
    const partial = `${target}.${process.pid}.partial`;
    await copyFile(bundle.zip, partial);
    await rename(partial, target);
  }
  const out = join(work, "package");
  await runCommand(
    process.execPath,
    [
      join(repoRoot, "node_modules", "osls", "bin", "serverless.js"),
      "package",
      "--stage",
      "ci",
      "--region",
      "eu-west-1",
      "--package",
      out,
    ],
    {
      cwd: repoRoot,
      // Offline: the account id comes from here, and no credentials are ever used.
      env: {
        ...process.env,
        DROPBUILD_ACCOUNT_ID: "123456789012",
        AWS_ACCESS_KEY_ID: "offline",
        AWS_SECRET_ACCESS_KEY: "offline",
        SLS_TELEMETRY_DISABLED: "1",
      },
    },
  );
  const templateFile = join(out, "cloudformation-template-update-stack.json");
  const template = JSON.parse(await readFile(templateFile, "utf8")) as Template;
  await rm(join(work, "bundles"), { recursive: true, force: true });
  return { dir: out, templateFile, template, remove: () => rm(work, { recursive: true, force: true }) };
}
