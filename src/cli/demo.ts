import { join } from "node:path";
import type { Command } from "commander";
import { registryDigest } from "../../bed/node/registry-client.js";
import { repoRoot } from "../../bed/paths.js";
import type { BuildRecord } from "../build/record.js";
import { environmentWith, loadClientConfig } from "../config.js";
import { SIMULATION_ARGS } from "../kube/job.js";
import type { LocalRuntime, LocalState } from "../local/runtime.js";
import { clearLocalState, localDir, readLocalState } from "../local/state.js";
import { submitDirectory } from "../submit/submit.js";
import { formatTable } from "../util/format.js";
import { waitForBuild } from "./builds.js";
import { type Clients, clientsFor } from "./clients.js";
import { CliError, type Io } from "./io.js";
import { runLocalInProcess, stopOnSignals } from "./local.js";

const BANNER = `dropbuild demo
==============
This runs the whole flow on this machine: an AWS emulator (moto) for S3,
DynamoDB, STS, EKS, EventBridge and SQS; a real Kubernetes control plane
(etcd, kube-apiserver, kube-controller-manager, kube-scheduler); a real node
(kubelet, containerd, runc, a CNI bridge nothing can leave); and a real OCI
registry. The build Job is the one production creates: its pod fetches the
context with the aws CLI (credentials by web identity, as IRSA gives them)
onto the workspace volume, and kaniko unpacks it, builds and pushes the image.
Stand-ins, only for what AWS alone runs: EFS is a volume on the node, ECR is
the local registry, the IRSA webhook is the bed's own.

Pointed at a real cluster and AWS account, the same code builds there:
deploy with serverless.yml and infra/k8s (see the README), then
  export AWS_REGION=... BUILDS_TABLE=... CONTEXTS_BUCKET=... CLUSTER_NAME=...
  npx dropbuild submit examples/hello --image examples/hello:1.0 --wait
`;

const SIMULATED_NOTE = `
With --simulate there is no real node: kwok plays the build pods, so the
outcome is SIMULATED. The Job, the pods, the record, the digest and the logs
go through the real code paths, but no image is built or pushed.
`;

/** The README's demo: start (or reuse) the local runtime, build two examples, show their records. */
export function registerDemoCommand(program: Command, io: Io): void {
  program
    .command("demo")
    .description("run the whole flow locally: two example builds, one succeeding and one failing on purpose")
    .option("--keep", "keep the local runtime running afterwards, until Ctrl-C")
    .option("--simulate", "no real node: kwok plays the builds (nothing is built)")
    .action(async (options: { keep?: boolean; simulate?: boolean }) => {
      io.progress(`${BANNER}\n`);
      const existing = readLocalState(localDir());
      let runtime: LocalRuntime | undefined;
      let state: LocalState;
      if (existing) {
        io.progress(`using the local runtime already running (pid ${existing.pid})\n`);
        state = existing;
      } else {
        runtime = await runLocalInProcess(io, { simulate: options.simulate });
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
  if (!state.bed.node) io.progress(SIMULATED_NOTE);
  // The local runtime's variables and credentials, whatever this shell has.
  const clients = clientsFor(loadClientConfig({}, environmentWith(state.env)), {
    accessKeyId: state.env.AWS_ACCESS_KEY_ID ?? "",
    secretAccessKey: state.env.AWS_SECRET_ACCESS_KEY ?? "",
  });
  const { hello, broken } = await submitExamples(io, state, clients);
  const [ok, failed] = await Promise.all([
    waitForBuild(hello, clients, { ...io, interactive: false }, { timeoutMs: 300_000, intervalMs: 1000 }),
    waitForBuild(broken, clients, { ...io, interactive: false }, { timeoutMs: 300_000, intervalMs: 1000 }),
  ]);
  printRecords(io, [ok, failed]);
  const pushed = await checkPushed(io, state, ok);
  io.out(`\nstatus page: ${state.apiUrl}\nJSON API:    ${state.apiUrl}/builds\n`);
  return (
    pushed && ok?.status === "SUCCEEDED" && Boolean(ok.digest) && failed?.status === "FAILED" && Boolean(failed.reason)
  );
}

/** Submit the two examples as `dropbuild submit` would; without a node the simulator is told to fail the broken one. */
async function submitExamples(io: Io, state: LocalState, clients: Clients): Promise<{ hello: string; broken: string }> {
  const examples = join(repoRoot, "examples");
  io.progress("\nsubmitting examples/hello (should succeed) with `dropbuild submit`...\n");
  const hello = await submitDirectory(
    join(examples, "hello"),
    "examples/hello:1.0",
    { extraTags: ["latest"] },
    { s3: clients.s3, bucket: clients.config.bucket },
  );
  io.progress(`  build ${hello.id}: ${hello.entries} entries packed (.dockerignore honoured)\n`);
  const node = state.bed.node;
  io.progress(
    node
      ? "submitting examples/broken (fails on purpose: its RUN step exits 1)...\n"
      : "submitting examples/broken (fails on purpose: the simulator is told to fail it, as its RUN step would)...\n",
  );
  const broken = await submitDirectory(
    join(examples, "broken"),
    "examples/broken:1.0",
    node
      ? {}
      : {
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
  return { hello: hello.id, broken: broken.id };
}

function printRecords(io: Io, finished: (BuildRecord | undefined)[]): void {
  const records = finished.filter((r): r is BuildRecord => Boolean(r));
  io.out(`\n${formatTable(records, new Date(), io.colour)}\n`);
  for (const record of records) {
    io.out(
      `\n${record.repository}:${record.tag}: ${record.status}${record.digest ? ` ${record.digest}` : ""}${record.reason ? `\n  reason: ${record.reason}` : ""}\n  logs: ${record.logLocation ?? record.logNote ?? "-"}\n`,
    );
  }
}

/** With a real node and a successful hello build: does the registry serve the digest the record holds? */
async function checkPushed(io: Io, state: LocalState, ok: BuildRecord | undefined): Promise<boolean> {
  const node = state.bed.node;
  if (!(node && ok?.status === "SUCCEEDED")) return true;
  // Ask the registry, not the record: the image must really be there, under the digest the record holds.
  const served = await registryDigest(node, "examples/hello:1.0");
  const pushed = served === ok.digest;
  io.out(
    `\nthe registry serves ${node.registry.host}/examples/hello:1.0 as ${served ?? "(nothing)"}: ${pushed ? "the digest in the record" : "NOT the digest in the record"}\n`,
  );
  return pushed;
}
