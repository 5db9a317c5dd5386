import type { Command } from "commander";
import { SubmitInputError } from "../submit/pack.js";
import { submitDirectory } from "../submit/submit.js";
import { formatRecord } from "../util/format.js";
import { WAIT_EXIT, waitForBuild } from "./builds.js";
import type { Clients } from "./clients.js";
import { CliError, collect, type Io, parsePairs } from "./io.js";

export function registerSubmitCommand(program: Command, clients: () => Clients, io: Io): void {
  program
    .command("submit <dir>")
    .description("pack a directory (honouring .dockerignore) and upload it as a build context")
    .requiredOption("--image <repository:tag>", "the image to build, e.g. team/api:1.4.2")
    .option("--dockerfile <path>", "Dockerfile path inside the context", undefined)
    .option("--build-arg <NAME=value>", "a build argument (repeatable)", collect, [])
    .option("--target <stage>", "build this stage of a multi-stage Dockerfile")
    .option("--extra-tag <tag>", "also push this tag (repeatable)", collect, [])
    .option("--nightly", "opt this context into nightly rebuilds")
    .option("--wait", "follow the build until it finishes (exit 0 if it succeeded)")
    .option("--timeout <seconds>", "with --wait: give up after this long", "3600")
    .option("--json", "print { id, bucket, key, versionId } (and the record with --wait) as JSON")
    .action(async (dir: string, options: Record<string, unknown>) => {
      const c = clients();
      let submitted: Awaited<ReturnType<typeof submitDirectory>>;
      try {
        submitted = await submitDirectory(
          dir,
          String(options.image),
          {
            dockerfile: options.dockerfile as string | undefined,
            buildArgs: parsePairs(options.buildArg as string[], "--build-arg"),
            target: options.target as string | undefined,
            extraTags: options.extraTag as string[],
            nightly: Boolean(options.nightly),
          },
          { s3: c.s3, bucket: c.config.bucket },
        );
      } catch (error: unknown) {
        if (error instanceof SubmitInputError) throw new CliError(error.message, 64);
        throw error;
      }
      if (!options.json) {
        io.progress(
          `uploaded s3://${submitted.bucket}/${submitted.key} (${submitted.entries} entries, ${submitted.bytes} bytes)\nbuild id ${submitted.id}\n`,
        );
      }
      if (!options.wait) {
        if (options.json) io.json(submitted);
        else io.out(`${submitted.id}\n`);
        return;
      }
      const record = await waitForBuild(submitted.id, c, io, {
        timeoutMs: Number(options.timeout) * 1000,
        quiet: Boolean(options.json),
      });
      if (options.json) io.json({ ...submitted, record });
      if (!record)
        throw new CliError(`build ${submitted.id} did not finish within ${options.timeout}s`, 2, Boolean(options.json));
      if (!options.json) io.out(`${formatRecord(record, new Date(), io.colour)}\n`);
      io.exitCode(WAIT_EXIT[record.status as keyof typeof WAIT_EXIT] ?? 1);
    });
}
