import { Logger } from "@aws-lambda-powertools/logger";

/** One structured JSON logger per function; handlers append the build id per record. */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

export type { Logger };
