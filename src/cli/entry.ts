import { runCli } from "./main.js";

/** The process entry: all command groups wired. */
export async function main(argv: string[]): Promise<number> {
  const { registerExtensions } = await import("./extensions.js");
  return runCli(argv, undefined, { register: registerExtensions });
}
