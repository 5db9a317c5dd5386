import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { z } from "zod";
import { kubernetesBuild } from "../../../bed/build/components.js";
import { ensureGoBinaries } from "../../../bed/build/go.js";
import { stderrProgress } from "../../../bed/build/progress.js";
import { ensureStaticAnalysisTools } from "../../../bed/build/static-analysis.js";
import { cacheDir, readVersions, repoRoot } from "../../../bed/paths.js";
import { type PackagedService, packageServerless } from "../../support/serverless-package.js";

/** Checks skipped everywhere, each with its reason (resource-level skips live on the resources). */
const Skips = z.object({
  "cfn-lint": z.record(z.string(), z.string().trim().min(1)),
  checkov: z.record(z.string(), z.string().trim().min(1)),
});

const CfnLintReport = z.array(
  z.object({
    Rule: z.object({ Id: z.string() }),
    Message: z.string(),
    Location: z.object({ Path: z.array(z.union([z.string(), z.number()])) }),
  }),
);

const CheckovCheck = z.object({
  check_id: z.string(),
  check_name: z.string(),
  file_path: z.string(),
  resource: z.string(),
  check_result: z.object({ suppress_comment: z.string().optional() }),
});
const CheckovReport = z.object({
  check_type: z.string(),
  results: z.object({
    failed_checks: z.array(CheckovCheck),
    skipped_checks: z.array(CheckovCheck).default([]),
    parsing_errors: z.array(z.string()).default([]),
  }),
  summary: z.object({ resource_count: z.number() }),
});
type CheckovReport = z.infer<typeof CheckovReport>;

/** What the tools report: one line per finding, so a failure lists them all. */
interface Finding {
  id: string;
  line: string;
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a tool to its end; these exit non-zero when they find something, which is read from their report. */
function run(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  return new Promise<Ran>((resolve, reject) => {
    execFile(file, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") reject(error);
      else resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
    });
  });
}

/** A tool's JSON report; a crash (an exit code that means one, or no report) fails with what it wrote. */
function report(tool: string, result: Ran, ran: (code: number) => boolean): unknown {
  let parsed: unknown;
  try {
    parsed = ran(result.code) ? JSON.parse(result.stdout) : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined) throw new Error(`${tool} exited with ${result.code}:\n${result.stderr.slice(-4000)}`);
  return parsed;
}

const OVERLAYS = ["example", "local"];

/**
 * cfn-lint and checkov (AWS's and Prisma's static analysers) on what a
 * platform engineer deploys: the CloudFormation template `osls package`
 * produces, and infra/k8s's overlays rendered by kubectl's kustomize, as the
 * bed applies them. The tools come from PyPI into a virtualenv under the
 * cache (bed/build/static-analysis.ts); kubectl is the bed's, built by the
 * suite's global setup or here when it is missing. Skips and their reasons:
 * infra/static-analysis.yaml, and on the resources themselves.
 */
describe("static analysis of the packaged template and the rendered infra/k8s overlays", () => {
  let work: string;
  let packaged: PackagedService;
  let skips: z.infer<typeof Skips>;
  let cfnLint: Finding[];
  let checkov: CheckovReport[];
  /** How many objects the rendered overlays hold, all together. */
  let manifests = 0;

  beforeAll(async () => {
    skips = Skips.parse(parse(await readFile(join(repoRoot, "infra", "static-analysis.yaml"), "utf8")));
    work = await mkdtemp(join(tmpdir(), "dropbuild-static-analysis-"));
    const cache = cacheDir();
    const [tools, pkg, kube] = await Promise.all([
      ensureStaticAnalysisTools(cache, stderrProgress),
      packageServerless(),
      ensureGoBinaries(kubernetesBuild(readVersions()), cache, stderrProgress),
    ]);
    packaged = pkg;
    await copyFile(packaged.templateFile, join(work, "template.json"));
    for (const overlay of OVERLAYS) {
      const rendered = await run(
        kube.kubectl as string,
        ["kustomize", join(repoRoot, "infra", "k8s", "overlays", overlay)],
        work,
      );
      if (rendered.code !== 0) throw new Error(`kubectl kustomize ${overlay}: ${rendered.stderr}`);
      await writeFile(join(work, `k8s-${overlay}.yaml`), rendered.stdout);
      manifests += parseAllDocuments(rendered.stdout).length;
    }

    const [lint, scan] = await Promise.all([
      run(tools.cfnLint, ["--format", "json", "--regions", "eu-west-1", "--", "template.json"], work),
      // Offline: no guidelines or suppressions fetched from Prisma Cloud, no look for a newer checkov on PyPI.
      run(
        tools.checkov,
        ["-d", ".", "--framework", "cloudformation", "kubernetes", "-o", "json", "--skip-download"],
        work,
        {
          ...process.env,
          BC_SKIP_MAPPING: "TRUE",
          CKV_SKIP_PACKAGE_UPDATE_CHECK: "TRUE",
        },
      ),
    ]);
    // cfn-lint's exit code is a bit mask of the levels it found (2 error, 4 warning, 8 info); checkov's is 1 on findings.
    cfnLint = CfnLintReport.parse(report("cfn-lint", lint, (code) => (code & ~14) === 0)).map((m) => ({
      id: m.Rule.Id,
      line: `${m.Rule.Id} ${m.Location.Path.join("/")}: ${m.Message}`,
    }));
    const reports = report("checkov", scan, (code) => code <= 1);
    checkov = z.array(CheckovReport).parse(Array.isArray(reports) ? reports : [reports]);
  }, 900_000);
  afterAll(async () => {
    await packaged?.remove();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const checkovFailures = (checkType: string): Finding[] =>
    (checkov.find((r) => r.check_type === checkType)?.results.failed_checks ?? []).map((c) => ({
      id: c.check_id,
      line: `${c.check_id} ${c.file_path} ${c.resource}: ${c.check_name}`,
    }));
  const unskipped = (findings: Finding[], skipped: Record<string, string>) =>
    findings.filter((f) => !Object.hasOwn(skipped, f.id)).map((f) => f.line);

  it("cfn-lint finds nothing in the packaged template", () => {
    expect(unskipped(cfnLint, skips["cfn-lint"])).toEqual([]);
  });

  it("checkov finds nothing in the packaged template", () => {
    // Every resource was read.
    expect(checkov.find((r) => r.check_type === "cloudformation")?.summary.resource_count).toBe(
      Object.keys(packaged.template.Resources).length,
    );
    expect(unskipped(checkovFailures("cloudformation"), skips.checkov)).toEqual([]);
  });

  it("checkov finds nothing in the rendered example and local overlays", () => {
    const kubernetes = checkov.find((r) => r.check_type === "kubernetes");
    // Every object of both overlays was read.
    expect(kubernetes?.summary.resource_count).toBe(manifests);
    expect(unskipped(checkovFailures("kubernetes"), skips.checkov)).toEqual([]);
  });

  it("parses everything, and gives a reason for every skip", () => {
    expect(checkov.flatMap((r) => r.results.parsing_errors)).toEqual([]);
    const withoutReason = checkov
      .flatMap((r) => r.results.skipped_checks)
      .filter(
        (c) => !c.check_result.suppress_comment?.trim() || c.check_result.suppress_comment === "No comment provided",
      )
      .map((c) => `${c.check_id} ${c.file_path} ${c.resource}`);
    expect(withoutReason).toEqual([]);
  });

  it("skips nothing in infra/static-analysis.yaml that no longer fires", () => {
    const fired = new Set([
      ...cfnLint.map((f) => f.id),
      ...checkovFailures("cloudformation").map((f) => f.id),
      ...checkovFailures("kubernetes").map((f) => f.id),
    ]);
    const stale = [...Object.keys(skips["cfn-lint"]), ...Object.keys(skips.checkov)].filter((id) => !fired.has(id));
    expect(stale).toEqual([]);
  });
});
