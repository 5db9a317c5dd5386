import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { contextFormat } from "../../../src/build/key.js";
import { inspectContext } from "../../../src/context/inspect.js";
import { ARCHIVE_CASES, CORPUS_LIMITS } from "../../support/hostile-corpus.js";

// The corpus's archive cases, judged by inspection alone: what the trigger
// reads of a context, without the bed. The same cases go through the real
// trigger in test/integration/trigger/hostile-uploads.test.ts.
const cases = ARCHIVE_CASES.filter((c) => !c.triggerOnly);

describe("inspectContext: the hostile corpus's archives", () => {
  it.each(cases)("$name", async ({ key, body, metadata, expect: outcome }) => {
    const format = contextFormat(key);
    // Chunks of 64 KiB, as an S3 body arrives.
    const data = body();
    const chunks = Array.from({ length: Math.ceil(data.length / 65536) || 1 }, (_, i) =>
      data.subarray(i * 65536, (i + 1) * 65536),
    );

    const result = await inspectContext(Readable.from(chunks), {
      // The stored size, as the trigger passes it (small uploads inflate in smaller pieces).
      compressedBytes: data.length,
      compression: format?.compression ?? "gzip",
      dockerfile: metadata?.dockerfile ?? "Dockerfile",
      limits: CORPUS_LIMITS,
    });

    if ("rejected" in outcome) expect(result.ok ? "(accepted)" : result.reason).toMatch(outcome.rejected);
    else expect(result).toMatchObject({ ok: true });
  });
});
