import { join } from "node:path";
import type { Command } from "commander";
import { repoRoot } from "../../bed/paths.js";
import type { BuildRecord } from "../build/record.js";
import { loadClientConfig } from "../config.js";
import { SIMULATION_ARGS } from "../kube/job.js";
import type { LocalRuntime, LocalState } from "../local/runtime.js";
import { clearLocalState, localDir, readLocalState } from "../local/state.js";
import { submitDirectory } from "../submit/submit.js";
import { waitForBuild } from "./builds.js";
import { clientsFor } from "./clients.js";
import { formatTable } from "./format.js";
import { CliError, type Io } from "./io.js";
import { runLocalInProcess, stopOnSignals } from "./local.js";

const BANNER = `dropbuild demo
==============
This runs the whole flow on this machine: an AWS emulator (moto) for S3,
DynamoDB, STS, EKS, EventBridge and SQS, and a real Kubernetes control plane
(etcd, kube-apiserver, kube-controller-manager, kube-scheduler) whose nodes
are simulated by kwok. There is no container runtime here, so the build pod's
outcome is SIMULATED: the Job, the pods, the record, the digest and the logs
go through the real code paths, but no image is built or pushed.

Pointed at a real cluster and AWS account, the same code builds for real:
deploy with serverless.yml and infra/k8s (see the README), then
  export AWS_REGION=... BUILDS_TABLE=... CONTEXTS_BUCKET=... CLUSTER_NAME=...
  npx dropbuild submit examples/hello --image examples/hello:1.0 --wait
`;

/** The README's demo: start (or reuse) the local runtime, build two examples, show their records. */
export function registerDemoCommand(program: Command, io: Io): void {
  program
    .command("demo")
    .description("run the whole flow locally: two example builds, one succeeding and one failing on purpose")
    .option("--keep", "keep the local runtime running afterwards, until Ctrl-C")
    .action(async (options: { keep?: boolean }) => {
      io.progress(`${BANNER}\n`);
      const existing = readLocalState(localDir());
      let runtime: LocalRuntime | undefined;
      let state: LocalState;
      if (existing) {
        io.progress(`using the local runtime already running (pid ${existing.pid})\n`);
        state = existing;
      } else {
        runtime = await runLocalInProcess(io, {});
        state = runtime.state;
      }
      const stop = async () => {
        if (!runtime) return;
        io.progress("stopping the local runtime...\n");
        await runtime.stop();
        await clearLocalState(localDir());
      };
      let interrupted = false;
      const onSignal = () => {
        interrupted = true;
      };
      process.once("SIGINT", onSignal);
      try {
        const ok = await runDemo(io, state);
        if (interrupted) throw new CliError("interrupted", 130);
        if (runtime && (options.keep || (io.interactive && process.stdin.isTTY))) {
          process.removeListener("SIGINT", onSignal);
          io.progress(`\nThe status page stays up at ${state.apiUrl} until you press Ctrl-C.\n`);
          await stopOnSignals(stop);
        } else {
          await stop();
        }
        if (!ok) throw new CliError("the demo's builds did not end as expected (one SUCCEEDED, one FAILED)", 1);
      } catch (error: unknown) {
        await stop();
        throw error;
      } finally {
        process.removeListener("SIGINT", onSignal);
      }
    });
}

async function runDemo(io: Io, state: LocalState): Promise<boolean> {
  const clients = clientsFor(loadClientConfig({}, { ...process.env, ...state.env }));
  Object.assign(process.env, state.env); // the AWS SDK's default credential chain reads these
  const examples = join(repoRoot, "examples");
  io.progress("\nsubmitting examples/hello (should succeed) with `dropbuild submit`...\n");
  const hello = await submitDirectory(
    join(examples, "hello"),
    "examples/hello:1.0",
    { extraTags: ["latest"] },
    { s3: clients.s3, bucket: clients.config.bucket },
  );
  io.progress(`  build ${hello.id}: ${hello.entries} entries packed (.dockerignore honoured)\n`);
  io.progress(
    "submitting examples/broken (fails on purpose: the simulator is told to fail it, as its RUN step would)...\n",
  );
  const broken = await submitDirectory(
    join(examples, "broken"),
    "examples/broken:1.0",
    {
      buildArgs: {
        [SIMULATION_ARGS.failure]:
          'error building image: error building stage: RUN echo "compiling..." && exit 1: exit status 1',
      },
    },
    { s3: clients.s3, bucket: clients.config.bucket },
  );
  io.progress(
    `  build ${broken.id}\n\nfollowing both builds (the broken one is retried by the Job's backoffLimit first):\n`,
  );
  const [ok, failed] = await Promise.all([
    waitForBuild(hello.id, clients, { ...io, interactive: false }, { timeoutMs: 300_000, intervalMs: 1000 }),
    waitForBuild(broken.id, clients, { ...io, interactive: false }, { timeoutMs: 300_000, intervalMs: 1000 }),
  ]);
  const records = [ok, failed].filter((r): r is BuildRecord => Boolean(r));
  io.out(`\n${formatTable(records, new Date(), io.colour)}\n`);
  for (const record of records) {
    io.out(
      `\n${record.repository}:${record.tag}: ${record.status}${record.digest ? ` ${record.digest}` : ""}${record.reason ? `\n  reason: ${record.reason}` : ""}\n  logs: ${record.logLocation ?? record.logNote ?? "-"}\n`,
    );
  }
  io.out(`\nstatus page: ${state.apiUrl}\nJSON API:    ${state.apiUrl}/builds\n`);
  return ok?.status === "SUCCEEDED" && Boolean(ok.digest) && failed?.status === "FAILED" && Boolean(failed.reason);
}
