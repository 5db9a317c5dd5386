import { readFileSync } from "node:fs";
import { parse } from "yaml";

/**
 * Each function's timeout in seconds, as serverless.yml deploys it: the local
 * runtime gives its invocations the same limits as Lambda, from the same
 * file rather than a second copy. Pure over the file's text.
 */
export function functionTimeouts(serverlessYml: string): Record<string, number> {
  const doc = parse(serverlessYml) as { functions?: Record<string, { timeout?: unknown }> };
  const timeouts: Record<string, number> = {};
  for (const [name, fn] of Object.entries(doc.functions ?? {})) {
    if (typeof fn?.timeout === "number") timeouts[name] = fn.timeout;
  }
  return timeouts;
}

/** The timeout of one function in the serverless.yml at `path`; an error naming it when there is none. */
export function functionTimeout(path: string, name: string): number {
  const timeout = functionTimeouts(readFileSync(path, "utf8"))[name];
  if (timeout === undefined) throw new Error(`${path} sets no timeout for function ${name}`);
  return timeout;
}
