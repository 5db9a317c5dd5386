import { describe, expect, it } from "vitest";
import { findPackageFile, isInstalledStatus } from "../../../bed/build/system.js";

describe("isInstalledStatus", () => {
  it("accepts only a fully installed package", () => {
    expect(isInstalledStatus("install ok installed")).toBe(true);
    expect(isInstalledStatus("deinstall ok config-files")).toBe(false);
    expect(isInstalledStatus("install ok unpacked")).toBe(false);
  });
});

describe("findPackageFile", () => {
  it("finds a file of a dpkg -L listing by its ending", () => {
    const listing = ["/.", "/usr", "/usr/bin", "/usr/sbin", "/usr/sbin/runc", "/usr/bin/runc"].join("\n");

    expect(findPackageFile(listing, "/sbin/runc")).toBe("/usr/sbin/runc");
    expect(findPackageFile(listing, "/bin/crun")).toBeUndefined();
  });
});
