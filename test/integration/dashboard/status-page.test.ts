import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../../../bed/paths.js";
import type { BuildRecord } from "../../../src/build/record.js";
import { startLocalHttp } from "../../../src/dashboard/server.js";
import { SIMULATION_ARGS } from "../../../src/kube/job.js";
import { reconcile } from "../../../src/reconcile/reconcile.js";
import { bed } from "../../support/bed.js";
import { reconcileUntil, submitContext, submitSample } from "../../support/builds.js";
import { deployOnBed } from "../../support/deployment.js";
import { lacks } from "../../support/needs.js";
import { gzip, sampleContext, tarArchive } from "../../support/tar.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Screenshots a reviewer can look at (not committed: .screenshots/ is ignored). */
const SCREENSHOTS = join(repoRoot, ".screenshots");

type Deployment = Awaited<ReturnType<typeof deployOnBed>>;

async function serve(env: Deployment): Promise<{ server: Server; url: string }> {
  const server = await startLocalHttp({ api: env.api({ title: "dropbuild (test)" }) }, 0);
  const address = server.address();
  return { server, url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}` };
}

const failing = (message: string) =>
  gzip(
    tarArchive([
      { path: "./", type: "Directory" },
      { path: "./Dockerfile", body: `FROM busybox:1.35\nRUN echo "${message}" && exit 3\n` },
    ]),
  );

/**
 * The status page in real headless Chromium, driven as a person would:
 * keyboard and clicks, reloads, the cancel button. Each page's screenshot
 * is saved under .screenshots/.
 */
const withoutNode = lacks("real-node", "a real failed kaniko build's log");

describe.skipIf(withoutNode)("status page", () => {
  let browser: Browser;
  const servers: Server[] = [];
  let builds: Deployment;
  let site: string;
  let failedId: string;
  let okId: string;

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    if (!bed().node) throw new Error("the bed has no real node: the failed build's log comes from a real kaniko run");
    builds = await deployOnBed({ real: true, env: { BUILD_BACKOFF_LIMIT: "0" } });
    failedId = await submitContext(builds, "contexts/page/broken/1.0.tar.gz", failing("the tests break here"));
    okId = await submitContext(
      builds,
      "contexts/page/other/1.0.tar.gz",
      gzip(sampleContext("FROM busybox:1.35\nCOPY app.txt /app.txt\n")),
    );
    await reconcileUntil(builds, failedId, (r) => r.status === "FAILED", 180_000);
    const served = await serve(builds);
    servers.push(served.server);
    site = served.url;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  async function shot(page: Page, name: string) {
    await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
  }

  it("opens a failed build from the list and reads its reason and its log", async () => {
    const page = await browser.newPage();
    await page.goto(`${site}/`);
    const row = page.locator(`tr[data-build-id="${failedId}"]`);
    await expect.poll(() => row.locator(".pill").textContent()).toBe("FAILED");
    await shot(page, "list");

    await row.getByRole("link").click();
    await page.waitForURL(`**/ui/builds/${failedId}`);
    const record = (await builds.store.get(failedId)) as BuildRecord;
    expect(await page.locator('dd[data-field="reason"]').textContent()).toBe(record.reason);
    expect(record.reason).toMatch(/exit status 3/);
    await expect.poll(() => page.locator("#log").textContent()).toContain("the tests break here");
    expect(await page.locator("table.history").textContent()).toMatch(/QUEUED.*RUNNING.*FAILED/s);
    await shot(page, "build-failed");
  }, 60_000);

  it("keeps a repository filter across a reload, typed and submitted by keyboard", async () => {
    const page = await browser.newPage();
    await page.goto(`${site}/`);
    await page.getByLabel("Repository").fill("page/broken");
    await page.getByLabel("Repository").press("Enter");
    await page.waitForURL(/repository=page%2Fbroken/);
    expect(page.url()).not.toMatch(/status=|since=|until=/);

    await page.reload();
    expect(await page.getByLabel("Repository").inputValue()).toBe("page/broken");
    expect(await page.locator(`tr[data-build-id="${failedId}"]`).count()).toBe(1);
    expect(await page.locator(`tr[data-build-id="${okId}"]`).count()).toBe(0);
    expect(await page.locator("svg.chart").count()).toBe(2);
    expect(await page.locator(".summary").textContent()).toMatch(/^0 of 1 finished builds succeeded/);
    // The failed build's pod ran, so it has a cost; the page totals it as GET /costs would.
    expect(await page.locator('[data-field="cost"]').textContent()).toMatch(
      /^Cost: 1 build ran [\d.]+ vCPU-hours and [\d.]+ GiB-hours of requests, about [\d.]+ USD\.$/,
    );
    await shot(page, "list-filtered");
  }, 60_000);

  describe("with a cap of 2 and five submissions", () => {
    let queue: Deployment;
    let queueSite: string;
    const ids: string[] = [];

    beforeAll(async () => {
      queue = await deployOnBed({ env: { MAX_CONCURRENT_BUILDS: "2", BUILD_DEADLINE_SECONDS: "600" } });
      // kwok plays each build for 10 minutes, so the two released hold their slots while the test looks.
      const long = { [SIMULATION_ARGS.durationMs]: "600000" };
      for (let n = 1; n <= 5; n++) ids.push(await submitSample(queue, `contexts/queue/app${n}/1.0.tar.gz`, long));
      // One reconcile run releases the oldest two.
      await reconcile(queue.reconcileDeps);
      const served = await serve(queue);
      servers.push(served.server);
      queueSite = served.url;
    }, 120_000);

    it("shows the queue in release order against the cap", async () => {
      const page = await browser.newPage();
      await page.goto(`${queueSite}/ui/queue`);
      expect(await page.locator("#cap").textContent()).toBe("2 of 2 slots in use");
      const running = await page
        .locator("#running tbody tr")
        .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-build-id")));
      expect(running.sort()).toEqual(ids.slice(0, 2).sort());
      const waiting = page.locator("#waiting tbody tr");
      expect(await waiting.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-build-id")))).toEqual(
        ids.slice(2),
      );
      expect(await waiting.locator(".position").allTextContents()).toEqual(["1", "2", "3"]);
      await shot(page, "queue");
    }, 60_000);

    it("cancels a queued build from its page", async () => {
      const last = ids[4] ?? "";
      const page = await browser.newPage();
      page.on("dialog", (dialog) => dialog.accept());
      await page.goto(`${queueSite}/ui/builds/${last}`);
      await shot(page, "build-queued");
      await page.getByRole("button", { name: "Cancel build" }).click();
      await expect.poll(() => page.locator("h2 .pill").first().textContent(), { timeout: 15_000 }).toBe("CANCELLED");
      expect(await page.getByRole("button", { name: "Cancel build" }).count()).toBe(0);
      expect((await queue.store.get(last))?.status).toBe("CANCELLED");
      await shot(page, "build-cancelled");

      await page.goto(`${queueSite}/ui/queue`);
      expect(
        await page.locator("#waiting tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-build-id"))),
      ).toEqual(ids.slice(2, 4));
    }, 60_000);
  });

  it("is readable on a phone: no sideways scrolling of the page", async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${site}/ui/builds/${failedId}`);
    const overflow = () => page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    expect(await overflow()).toBeLessThanOrEqual(0);
    await page.goto(`${site}/`);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await shot(page, "list-phone");
  }, 30_000);
});
