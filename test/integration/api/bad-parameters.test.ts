import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { beforeAll, describe, expect, it } from "vitest";
import { createApiHandler } from "../../../src/api/handler.js";
import { type BuildRecord, type BuildStatus, STATUS_RANK } from "../../../src/build/record.js";
import { ensureBuildsTable } from "../../../src/local/provision.js";
import { createLogger } from "../../../src/log.js";
import { apiDeps, functionDeps } from "../../../src/wiring.js";
import { awsConfig, uniqueName } from "../../support/bed.js";
import { bedConfig } from "../../support/deployment.js";
import { API_CASES, FINISHED_BUILD_ID } from "../../support/hostile-corpus.js";
import { DocumentedApi } from "../../support/openapi.js";

const at = (minute: number) => `2026-11-25T10:${String(minute).padStart(2, "0")}:00.000Z`;

function record(n: number, status: BuildStatus, repository: string): BuildRecord {
  const id = n.toString(16).padStart(16, "0");
  return {
    id,
    status,
    statusRank: STATUS_RANK[status],
    repository,
    tag: `v${n}`,
    destinations: [`registry.test/${repository}:v${n}`],
    source: { bucket: "b", key: `contexts/${repository}/v${n}.tar.gz`, etag: "e" },
    trigger: "upload",
    namespace: "dropbuild",
    submittedAt: at(n),
    attempts: 0,
    expiresAt: 2_000_000_000,
  };
}

// The hostile corpus's requests (test/support/hostile-corpus.ts): each a 4xx whose message names the problem.
describe("HTTP API: bad input gets a 4xx and a message naming the parameter", () => {
  let call: (
    method: string,
    path: string,
    query?: Record<string, string>,
  ) => Promise<{ status: number; body: { error?: string; builds?: BuildRecord[]; cursor?: string } }>;

  beforeAll(async () => {
    const table = uniqueName("builds");
    await ensureBuildsTable(new DynamoDBClient(awsConfig()), table);
    const { clients } = functionDeps(bedConfig({ BUILDS_TABLE: table }), awsConfig().credentials);
    const { store } = clients;
    for (let n = 1; n <= 6; n++)
      await store.create(record(n, n % 2 ? "SUCCEEDED" : "FAILED", n <= 3 ? "api/one" : "api/two"));
    // The corpus's cancel of a finished build names this one.
    expect((await store.get(FINISHED_BUILD_ID))?.status).toBe("SUCCEEDED");
    const now = () => new Date("2026-11-25T12:00:00Z");
    // Every answer is checked against the OpenAPI document: an undocumented one fails the case.
    const api = new DocumentedApi(createApiHandler({ ...apiDeps(clients), now }, createLogger("api-test")));
    call = async (method, path, query = {}) => {
      const answer = await api.call(method, path, query);
      return { status: answer.status, body: answer.json };
    };
  });

  /** A real cursor from a page of `query`. */
  async function cursorFrom(query: Record<string, string>): Promise<string> {
    const { body } = await call("GET", "/builds", { ...query, limit: "1" });
    if (!body.cursor) throw new Error("the first page has no cursor");
    return body.cursor;
  }

  it.each(API_CASES)("$method $path: $name", async ({ method, path, query, expect: expected }) => {
    const { status, body } = await call(method, path, query);

    expect({ status, error: body.error }).toEqual({
      status: expected.status,
      error: expect.stringMatching(expected.error),
    });
  });

  it.each([
    ["a repository query reused for a status", { repository: "api/one" }, { status: "FAILED" }],
    ["a repository query reused for another repository", { repository: "api/one" }, { repository: "api/two" }],
    ["a status query reused for all builds", { status: "FAILED" }, {}],
    ["a query without since reused with a later one", { status: "SUCCEEDED" }, { status: "SUCCEEDED", since: at(6) }],
  ])("GET /builds with the cursor of %s", async (_name, issuedFor, usedFor) => {
    const cursor = await cursorFrom(issuedFor);

    const { status, body } = await call("GET", "/builds", { ...usedFor, cursor });

    expect(status).toBe(400);
    expect(body.error).toMatch(/^cursor .*continues another query/);
  });

  it.each([
    ["all builds", {}],
    ["one repository", { repository: "api/one" }],
    ["one status", { status: "SUCCEEDED" }],
    ["one status since a time", { status: "SUCCEEDED", since: at(2) }],
  ])("pages through %s with the cursors it hands out", async (_name, query: Record<string, string>) => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const { status, body } = await call("GET", "/builds", { ...query, limit: "1", ...(cursor ? { cursor } : {}) });
      expect(status).toBe(200);
      seen.push(...(body.builds ?? []).map((b) => b.id));
      cursor = body.cursor;
    } while (cursor);

    const { body: whole } = await call("GET", "/builds", query);
    expect(seen).toEqual((whole.builds ?? []).map((b) => b.id));
    expect(seen.length).toBeGreaterThan(1);
  });
});
