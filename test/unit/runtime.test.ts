import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../bed/paths.js";
import { LAMBDA_RUNTIME } from "../../scripts/bundle.js";

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  devDependencies: Record<string, string>;
};

/** The project brings its own Node.js (the `node` dev dependency); the tests run on it, as production does. */
describe("the Node.js the tests run on", () => {
  it("is Node.js 24", () => {
    expect(process.version).toMatch(/^v24\./);
  });

  it("is the version the project pins, the binary npm installed into node_modules", () => {
    expect(process.version).toBe(`v${pkg.devDependencies.node}`);
    expect(process.execPath).toBe(join(repoRoot, "node_modules", "node", "bin", "node"));
  });

  it("is the major version of the functions' Lambda runtime", () => {
    expect(LAMBDA_RUNTIME).toBe(`nodejs${process.versions.node.split(".")[0]}.x`);
  });
});
