import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SQSClient } from "@aws-sdk/client-sqs";
import type { Command } from "commander";
import { REBUILD_SOURCE } from "../rebuild/handler.js";
import { lambdaInvoker, redrive } from "../redrive/redrive.js";
import { awsClientSettings } from "../wiring.js";
import type { Clients } from "./clients.js";
import { CliError, type Io } from "./io.js";

function lambdaFor(clients: Clients): LambdaClient {
  const { config } = clients;
  return new LambdaClient({
    region: config.region,
    ...(config.lambdaEndpoint ? { endpoint: config.lambdaEndpoint } : {}),
  });
}

/** redrive, rebuild: the "nothing lost" and "rebuild on demand" commands. */
export function registerRebuildCommands(program: Command, clients: () => Clients, io: Io): void {
  registerRedrive(program, clients, io);
  registerRebuild(program, clients, io);
}

function registerRedrive(program: Command, clients: () => Clients, io: Io): void {
  program
    .command("redrive")
    .description("replay the trigger's dead-letter queue through the trigger; reports replayed, duplicates, failed")
    .option("--queue-url <url>", "the dead-letter queue (default: $DROPBUILD_DLQ_URL)")
    .option("--function <name>", "the trigger function (default: $DROPBUILD_TRIGGER_FUNCTION)")
    .option("--json", "print the report as JSON")
    .action(async (options: { queueUrl?: string; function?: string; json?: boolean }) => {
      const c = clients();
      const queueUrl = options.queueUrl ?? c.config.deadLetterQueueUrl;
      const functionName = options.function ?? c.config.triggerFunction;
      if (!queueUrl)
        throw new CliError(
          "give --queue-url or set DROPBUILD_DLQ_URL (the stack's TriggerDeadLetterQueueUrl output)",
          64,
        );
      if (!functionName)
        throw new CliError("give --function or set DROPBUILD_TRIGGER_FUNCTION (e.g. dropbuild-prod-trigger)", 64);
      const report = await redrive(
        new SQSClient(awsClientSettings(c.config)),
        queueUrl,
        lambdaInvoker(lambdaFor(c), functionName),
      );
      if (options.json) io.json(report);
      else {
        io.out(
          `replayed ${report.replayed}, skipped as duplicates ${report.duplicates}, failed again ${report.failed}\n`,
        );
        for (const error of report.errors) io.out(`  failed: ${error}\n`);
      }
      if (report.failed > 0) io.exitCode(1);
    });
}

function registerRebuild(program: Command, clients: () => Clients, io: Io): void {
  program
    .command("rebuild <repository>")
    .description("ask for a rebuild of a repository's newest context (or --tag) with a dropbuild.rebuild event")
    .option("--tag <tag>", "rebuild this tag's context")
    .option("--json", "print the EventBridge answer as JSON")
    .action(async (repository: string, options: { tag?: string; json?: boolean }) => {
      const c = clients();
      const events = new EventBridgeClient(awsClientSettings(c.config));
      const out = await events.send(
        new PutEventsCommand({
          Entries: [
            {
              Source: REBUILD_SOURCE,
              DetailType: "Rebuild Requested",
              Detail: JSON.stringify(options.tag ? { repository, tag: options.tag } : { repository }),
              EventBusName: c.config.eventBusName,
            },
          ],
        }),
      );
      if (out.FailedEntryCount) throw new CliError(`EventBridge refused the event: ${out.Entries?.[0]?.ErrorMessage}`);
      if (options.json) io.json({ eventId: out.Entries?.[0]?.EventId });
      else
        io.out(
          `rebuild requested for ${repository}${options.tag ? `:${options.tag}` : ""} (event ${out.Entries?.[0]?.EventId})\n`,
        );
    });
}
