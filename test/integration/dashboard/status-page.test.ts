import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalHttp } from "../../../src/dashboard/server.js";
import { reconcileUntil, submitSample } from "../../support/builds.js";
import { deployOnBed } from "../../support/deployment.js";
import { queryByRepository } from "../../support/records.js";
import { gzip } from "../../support/tar.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** The status page in real headless Chromium: it must show the records in the table. */
describe("status page", () => {
  let browser: Browser;
  let server: Server;
  let url: string;
  let env: Awaited<ReturnType<typeof deployOnBed>>;
  const ids: string[] = [];

  beforeAll(async () => {
    env = await deployOnBed({ env: { BUILD_BACKOFF_LIMIT: "0" } });
    ids.push(await submitSample(env, "contexts/page/ok/1.0.tar.gz"));
    ids.push(
      await submitSample(env, "contexts/page/bad/1.0.tar.gz", {
        DROPBUILD_SIMULATE_FAILURE: "RUN make: exit status 2",
      }),
    );
    await env.upload("contexts/page/rejected/1.0.tar.gz", gzip(Buffer.from("not a tarball")));
    const { createTriggerHandler } = await import("../../../src/trigger/handler.js");
    const { createLogger } = await import("../../../src/log.js");
    for (const event of await env.notifications(1)) await createTriggerHandler(env.deps, createLogger("page"))(event);
    for (const id of ids) await reconcileUntil(env, id, (r) => ["SUCCEEDED", "FAILED"].includes(r.status));
    server = await startLocalHttp({ store: env.store, title: "dropbuild (test)" }, 0);
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("shows every record in the table, with its status, image, and outcome chart", async () => {
    const page = await browser.newPage();
    await page.goto(url);
    const records = [
      ...(await queryByRepository(env.config, "page/ok")),
      ...(await queryByRepository(env.config, "page/bad")),
      ...(await queryByRepository(env.config, "page/rejected")),
    ];
    expect(records.map((r) => r.status).sort()).toEqual(["FAILED", "REJECTED", "SUCCEEDED"]);

    for (const record of records) {
      const row = page.locator(`tr[data-build-id="${record.id}"]`);
      await expect.poll(() => row.count()).toBe(1);
      expect(await row.locator(".status").textContent()).toBe(record.status);
      expect(await row.textContent()).toContain(`${record.repository}:${record.tag}`);
    }
    expect(await page.locator("svg.chart rect").count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator(".summary").textContent()).toMatch(/SUCCEEDED 1.*FAILED 1.*REJECTED 1/);
    await page.screenshot({ path: join(tmpdir(), "dropbuild-status-page.png"), fullPage: true });
  });

  it("refreshes itself and picks up a new build", async () => {
    const page = await browser.newPage();
    await page.goto(url);
    const id = await submitSample(env, "contexts/page/late/1.0.tar.gz");
    await expect
      .poll(() => page.locator(`tr[data-build-id="${id}"]`).count(), { timeout: 15_000, interval: 500 })
      .toBe(1);
  }, 30_000);
});
