import { describe, expect, it } from "vitest";
import { html } from "../../../src/api/http.js";
import { createRouter, type Route } from "../../../src/api/router.js";
import { apiEvent } from "../../support/openapi.js";

const answer = (name: string) => async () => ({ statusCode: 200, body: name });
const routes: Route[] = [
  {
    method: "GET",
    path: "/builds/{id}",
    query: [],
    handle: async ({ params }) => ({ statusCode: 200, body: params.id }),
  },
  { method: "GET", path: "/builds/{id}/log", query: ["offset"], handle: answer("log") },
  {
    method: "GET",
    path: "/page",
    query: [],
    handle: answer("page"),
    refuse: (status, message) => html(status, message),
  },
  { method: "GET", path: "/doc.json", query: [], handle: answer("doc") },
  {
    method: "GET",
    path: "/broken",
    query: [],
    handle: async () => {
      throw new Error("boom");
    },
    refuse: (status, message) => html(status, message),
  },
];
const route = createRouter(routes, (error, refuse) => refuse(500, `failed: ${(error as Error).message}`));

describe("the API's router", () => {
  it("hands a matching request its checked path parameters", async () => {
    expect(await route(apiEvent("GET", "/builds/0123456789abcdef/"))).toEqual({
      statusCode: 200,
      body: "0123456789abcdef",
    });
    expect((await route(apiEvent("GET", "/builds/0123456789abcdef/log", { offset: "3" }))).body).toBe("log");
  });

  it("answers a path it has not with 404, and one without the method with 405 naming the methods it takes", async () => {
    expect(JSON.parse(String((await route(apiEvent("GET", "/nothing"))).body))).toEqual({
      error: "no route for GET /nothing",
    });
    const wrong = await route(apiEvent("PUT", "/builds/0123456789abcdef"));
    expect(wrong.statusCode).toBe(405);
    expect(JSON.parse(String(wrong.body)).error).toBe("PUT is not allowed on /builds/0123456789abcdef; use GET");
  });

  it("names a bad path parameter and a query parameter the operation does not take", async () => {
    const bad = await route(apiEvent("GET", "/builds/x"));
    expect([bad.statusCode, JSON.parse(String(bad.body)).error]).toEqual([
      400,
      'id "x" is not a build id (16 lowercase hex digits)',
    ]);
    const unknown = await route(apiEvent("GET", "/builds/0123456789abcdef/log", { offest: "3" }));
    expect(JSON.parse(String(unknown.body)).error).toBe('unknown parameter "offest"; /builds/{id}/log takes offset');
  });

  it("takes a path's text literally: a dot is a dot", async () => {
    expect((await route(apiEvent("GET", "/doc.json"))).body).toBe("doc");
    expect((await route(apiEvent("GET", "/docXjson"))).statusCode).toBe(404);
  });

  it("hands what a route throws to the error mapping, answered in the route's format", async () => {
    expect(await route(apiEvent("GET", "/broken"))).toMatchObject({ statusCode: 500, body: "failed: boom" });
  });

  it("lets a page refuse in its own format", async () => {
    const refused = await route(apiEvent("GET", "/page", { x: "1" }));
    expect(refused).toMatchObject({ statusCode: 400, headers: { "content-type": "text/html; charset=utf-8" } });
    expect(refused.body).toBe('unknown parameter "x"; /page takes no parameters');
  });
});
