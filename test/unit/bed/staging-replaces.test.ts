import { describe, expect, it } from "vitest";
import { stagingReplaces } from "../../../bed/build/components.js";

describe("stagingReplaces", () => {
  it("pins each staging module of k8s.io/kubernetes to the matching v0 tag", () => {
    const goMod = [
      "module k8s.io/kubernetes",
      "replace (",
      "\tk8s.io/api => ./staging/src/k8s.io/api",
      "\tk8s.io/client-go => ./staging/src/k8s.io/client-go",
      "\tgithub.com/other/mod => github.com/other/mod v1.0.0",
      ")",
    ].join("\n");

    expect(stagingReplaces(goMod, "v1.36.3")).toEqual([
      "k8s.io/api => k8s.io/api v0.36.3",
      "k8s.io/client-go => k8s.io/client-go v0.36.3",
    ]);
  });

  it("fails loudly when the go.mod has no staging replaces", () => {
    expect(() => stagingReplaces("module x\n", "v1.36.3")).toThrow(/no staging replace/);
  });
});
