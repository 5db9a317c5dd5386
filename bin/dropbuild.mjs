#!/usr/bin/env node
// The dropbuild CLI. Runs the TypeScript sources through tsx, so a clone
// needs no build step: `npm ci` and then `npx dropbuild ...`.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/entry.ts");
process.exitCode = await main(process.argv.slice(2));
