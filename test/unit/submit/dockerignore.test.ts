import { describe, expect, it } from "vitest";
import { parseDockerignore } from "../../../src/submit/dockerignore.js";

describe("parseDockerignore", () => {
  const ignored = parseDockerignore(
    ["# comment", "node_modules", "*.log", "**/*.tmp", "secrets/", "docs/**", "!docs/keep.md", "/build", "a?c"].join(
      "\n",
    ),
  );

  it.each([
    ["node_modules", true],
    ["node_modules/pkg/index.js", true],
    ["app.log", true],
    ["sub/app.log", false],
    ["x.tmp", true],
    ["deep/er/x.tmp", true],
    ["secrets/key.pem", true],
    ["docs/guide.md", true],
    ["docs/keep.md", false],
    ["build/out.js", true],
    ["abc", true],
    ["abbc", false],
    ["src/index.ts", false],
    ["Dockerfile", false],
  ])("%s ignored: %s", (path, expected) => {
    expect(ignored(path)).toBe(expected);
  });

  it("ignores nothing without patterns", () => {
    expect(parseDockerignore("\n# only a comment\n")("anything")).toBe(false);
  });
});
