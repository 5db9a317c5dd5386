#!/usr/bin/env node
// The dropbuild CLI. Runs the TypeScript sources through tsx, so a clone
// needs no build step: `npm ci` and then `npx dropbuild ...`.
import { register } from "tsx/esm/api";

// The Lambda runtime is Node.js 22; on an older local Node the AWS SDK would
// print a support notice on every command.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

register();
const { main } = await import("../src/cli/entry.ts");
process.exitCode = await main(process.argv.slice(2));
