/**
 * Shows the one-variable switch: starts a second, separate bed without a real
 * node (its own moto, etcd, kube-apiserver, controller manager, scheduler and
 * kwok, on ports of its own, in .bed/elsewhere) as a stand-in for LocalStack and
 * a real cluster, runs the integration tests against it with only
 * DROPBUILD_TEST_AWS_ENDPOINT and DROPBUILD_TEST_KUBECONFIG (plus the AWS
 * credentials those name), then checks that nothing the run created is left
 * there, and takes the second bed down.
 *
 *   npm run test:elsewhere [-- <vitest filters>]
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { stderrProgress } from "../bed/build/progress.js";
import { repoRoot } from "../bed/paths.js";
import type { BedInfo } from "../bed/state.js";
import { bedDown, bedUp } from "../bed/up.js";
import { createdSince, inventory, isEmpty } from "../test/support/target-cleanup.js";

const stateDir = join(repoRoot, ".bed", "elsewhere");

/** The only settings the tests get: the two variables, and the credentials and region for the AWS one. */
function targetEnvironment(info: BedInfo): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DROPBUILD_TEST_AWS_ENDPOINT: info.aws.endpoint,
    AWS_ACCESS_KEY_ID: info.aws.accessKeyId,
    AWS_SECRET_ACCESS_KEY: info.aws.secretAccessKey,
    AWS_REGION: info.aws.region,
    DROPBUILD_TEST_KUBECONFIG: info.kubeconfigs.admin,
    DROPBUILD_BED_REAL_NODE: "false",
  };
}

function runVitest(env: NodeJS.ProcessEnv, filters: string[]): Promise<number> {
  const args = ["vitest", "run", "--project", "integration", ...filters];
  return new Promise((resolve, reject) => {
    const child = spawn("npx", args, { cwd: repoRoot, env, stdio: "inherit" });
    child.on("error", reject);
    child.on("exit", (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<number> {
  stderrProgress("starting the second target (a bed without a real node, in .bed/elsewhere)");
  const target = await bedUp(stateDir, stderrProgress, { realNode: false });
  try {
    const halves = { aws: true, kube: true };
    const before = await inventory(target, halves);
    const code = await runVitest(targetEnvironment(target), process.argv.slice(2));
    // Everything new, not only what has a test's name: the target must be as it was.
    const left = createdSince(before, await inventory(target, halves), false);
    if (!isEmpty(left)) {
      stderrProgress(`left behind on the second target: ${JSON.stringify(left)}`);
      return 1;
    }
    stderrProgress(`vitest exited ${code}; the second target holds nothing the run created`);
    return code;
  } finally {
    await bedDown(stateDir);
  }
}

process.exit(await main());
