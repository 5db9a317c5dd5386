import { appendFileSync } from "node:fs";
import { Logger as PowertoolsLogger } from "@aws-lambda-powertools/logger";

/** What our code needs from a logger. Powertools' Logger fits it; the local runtime writes to a file. */
export interface Logger {
  info(message: string, ...extra: (Record<string, unknown> | Error)[]): void;
  warn(message: string, ...extra: (Record<string, unknown> | Error)[]): void;
  error(message: string, ...extra: (Record<string, unknown> | Error)[]): void;
  appendKeys(keys: Record<string, unknown>): void;
  removeKeys(keys: string[]): void;
}

/** One structured JSON logger per function; handlers append the build id per record. */
export function createLogger(serviceName: string): Logger {
  const logger = new PowertoolsLogger({ serviceName });
  // Powertools takes an Error as the last argument, or attributes; keep that contract.
  const forward =
    (fn: (message: string, ...extra: never[]) => void) =>
    (message: string, ...extra: (Record<string, unknown> | Error)[]) =>
      fn.call(logger, message, ...(extra as never[]));
  return {
    info: forward(logger.info),
    warn: forward(logger.warn),
    error: forward(logger.error),
    appendKeys: (keys) => logger.appendKeys(keys as Parameters<PowertoolsLogger["appendKeys"]>[0]),
    removeKeys: (keys) => logger.removeKeys(keys),
  };
}

/** JSON lines to a file, for the local runtime (its terminal shows a live view instead). */
export function fileLogger(serviceName: string, path: string): Logger {
  const keys: Record<string, unknown> = {};
  const write = (level: string, message: string, extra: (Record<string, unknown> | Error)[]) => {
    const fields: Record<string, unknown> = {};
    for (const item of extra) {
      if (item instanceof Error) fields.error = { name: item.name, message: item.message };
      else Object.assign(fields, item);
    }
    appendFileSync(
      path,
      `${JSON.stringify({ level, message, service: serviceName, timestamp: new Date().toISOString(), ...keys, ...fields })}\n`,
    );
  };
  return {
    info: (message, ...extra) => write("INFO", message, extra),
    warn: (message, ...extra) => write("WARN", message, extra),
    error: (message, ...extra) => write("ERROR", message, extra),
    appendKeys: (more) => Object.assign(keys, more),
    removeKeys: (names) => {
      for (const name of names) delete keys[name];
    },
  };
}
