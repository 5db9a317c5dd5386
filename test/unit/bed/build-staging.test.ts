import { describe, expect, it } from "vitest";
import { parseAptSources, stagingMirrorLines, versionAtLeast } from "../../../bed/build/staging.js";

const deb822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
Enabled: no
`;

describe("parseAptSources", () => {
  it("reads enabled deb paragraphs of deb822 .sources files", () => {
    expect(parseAptSources(deb822)).toEqual([
      { uris: ["http://deb.debian.org/debian"], suites: ["bookworm", "bookworm-updates"], components: ["main"] },
      { uris: ["http://deb.debian.org/debian-security"], suites: ["bookworm-security"], components: ["main"] },
    ]);
  });

  it("reads one-line .list entries, options and comments included", () => {
    const list = [
      "# deb http://commented.example/debian bookworm main",
      "deb [signed-by=/usr/share/keyrings/cloud.gpg] https://packages.cloud.google.com/apt cloud-sdk-bookworm main",
      "deb-src http://deb.debian.org/debian bookworm main",
      "deb http://mirror.example/debian bookworm main contrib",
    ].join("\n");

    expect(parseAptSources(list)).toEqual([
      { uris: ["https://packages.cloud.google.com/apt"], suites: ["cloud-sdk-bookworm"], components: ["main"] },
      { uris: ["http://mirror.example/debian"], suites: ["bookworm"], components: ["main", "contrib"] },
    ]);
  });
});

describe("stagingMirrorLines", () => {
  it("uses the machine's mirrors for the suite and its updates and security suites only", () => {
    const sources = [
      ...parseAptSources(deb822),
      { uris: ["https://packages.cloud.google.com/apt"], suites: ["cloud-sdk-bookworm"], components: ["main"] },
      { uris: ["http://deb.debian.org/debian"], suites: ["trixie"], components: ["main"] },
    ];

    expect(stagingMirrorLines(sources, "bookworm")).toEqual([
      "deb http://deb.debian.org/debian bookworm main",
      "deb http://deb.debian.org/debian bookworm-updates main",
      "deb http://deb.debian.org/debian-security bookworm-security main",
    ]);
  });

  it("falls back to deb.debian.org when the machine has no entry for the suite", () => {
    expect(stagingMirrorLines([], "bookworm")).toEqual(["deb http://deb.debian.org/debian bookworm main"]);
  });
});

describe("versionAtLeast", () => {
  it("compares dotted versions part by part", () => {
    expect(versionAtLeast("1.43.62", [1, 31])).toBe(true);
    expect(versionAtLeast("1.31.0", [1, 31])).toBe(true);
    expect(versionAtLeast("1.29.165", [1, 31])).toBe(false);
    expect(versionAtLeast("2.0", [1, 31])).toBe(true);
    expect(versionAtLeast("garbage", [1, 31])).toBe(false);
  });
});
