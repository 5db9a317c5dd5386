import { Command, CommanderError } from "commander";
import { ConfigError, loadClientConfig } from "../config.js";
import { errorMessage } from "../util/error-message.js";
import { registerBuildCommands } from "./builds.js";
import { type Clients, clientsFor } from "./clients.js";
import { CliError, type Io, processIo } from "./io.js";
import { registerSubmitCommand } from "./submit.js";

export interface CliExtensions {
  /** Extra command groups (local runtime, dashboard, redrive) registered by their modules. */
  register?: (program: Command, clients: () => Clients, io: Io) => void;
}

/** Build the `dropbuild` program. Clients are made lazily, so `--help` needs no configuration. */
export function createProgram(io: Io = processIo(), extensions: CliExtensions = {}): Command {
  const program = new Command("dropbuild")
    .description("Build container images with kaniko on EKS from contexts dropped into S3")
    .option("--table <name>", "the builds table (default: $BUILDS_TABLE)")
    .option("--bucket <name>", "the contexts bucket (default: $CONTEXTS_BUCKET)")
    .showHelpAfterError()
    .exitOverride();
  let cached: Clients | undefined;
  const clients = () => {
    const options = program.opts<{ table?: string; bucket?: string }>();
    cached ??= clientsFor(loadClientConfig({ BUILDS_TABLE: options.table, CONTEXTS_BUCKET: options.bucket }));
    return cached;
  };
  registerSubmitCommand(program, clients, io);
  registerBuildCommands(program, clients, io);
  extensions.register?.(program, clients, io);
  return program;
}

/** Run the CLI; returns the exit code. Errors become one clear line, never a stack trace. */
export async function runCli(argv: string[], io: Io = processIo(), extensions: CliExtensions = {}): Promise<number> {
  const program = createProgram(io, extensions);
  try {
    await program.parseAsync(argv, { from: "user" });
    return Number(process.exitCode ?? 0);
  } catch (error: unknown) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof CliError) {
      if (!error.printed) io.progress(`dropbuild: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof ConfigError) {
      io.progress(`dropbuild: ${error.message}\n`);
      return 78;
    }
    io.progress(`dropbuild: ${errorMessage(error)}\n`);
    return 1;
  }
}
