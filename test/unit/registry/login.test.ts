import { describe, expect, it } from "vitest";
import { loginFromBasic, loginsFromDockerConfig } from "../../../src/registry/client.js";

const basic = (text: string) => Buffer.from(text).toString("base64");

describe("registry logins", () => {
  it("reads base64 user:password, the password keeping its colons", () => {
    expect(loginFromBasic(basic("AWS:ey:J9"))).toEqual({ username: "AWS", password: "ey:J9" });
    expect(loginFromBasic(basic("no-colon"))).toBeUndefined();
    expect(loginFromBasic(basic(":password"))).toBeUndefined();
  });

  it("reads a docker config's auths by host, Docker Hub's under docker.io", () => {
    const login = loginsFromDockerConfig(
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth: basic("hub:secret") },
          "registry.example:5000": { username: "u", password: "p" },
        },
      }),
    );
    expect(login("docker.io")).toEqual({ username: "hub", password: "secret" });
    expect(login("registry.example:5000")).toEqual({ username: "u", password: "p" });
    expect(login("other.example")).toBeUndefined();
  });
});
