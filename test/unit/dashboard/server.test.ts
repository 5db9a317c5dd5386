import { describe, expect, it } from "vitest";
import { refusal } from "../../../src/dashboard/server.js";

const request = (method: string, headers: Record<string, string>) => ({ method, headers });

describe("the local server's guard (it acts with the user's credentials)", () => {
  it("answers requests addressed to loopback, and writes from its own pages or from no browser", () => {
    expect(refusal(request("GET", { host: "127.0.0.1:8787" }))).toBeUndefined();
    expect(refusal(request("GET", { host: "localhost:8787" }))).toBeUndefined();
    expect(refusal(request("POST", { host: "127.0.0.1:8787" }))).toBeUndefined();
    expect(refusal(request("POST", { host: "127.0.0.1:8787", origin: "http://127.0.0.1:8787" }))).toBeUndefined();
  });

  it("refuses a request for another host name (DNS rebinding) and a cross-origin write", () => {
    expect(refusal(request("GET", { host: "attacker.example:8787" }))).toMatch(/^this server answers only requests to/);
    expect(refusal(request("POST", { host: "127.0.0.1:8787", origin: "https://attacker.example" }))).toMatch(
      /^a POST from "https:\/\/attacker.example" is refused/,
    );
    expect(refusal(request("POST", { host: "127.0.0.1:8787", origin: "http://127.0.0.1:9999" }))).toBeDefined();
  });
});
