import { beforeAll, describe, expect, it } from "vitest";
import type { BuildRecord } from "../../../src/build/record.js";
import { createLogger } from "../../../src/log.js";
import { createTriggerHandler } from "../../../src/trigger/handler.js";
import { admin } from "../../support/bed.js";
import { deployOnBed } from "../../support/deployment.js";
import { queryByRepository } from "../../support/records.js";
import { gzip, gzipStream, sampleContext, type TarEntrySpec, tarArchive, tarHeader } from "../../support/tar.js";

const dockerfile: TarEntrySpec = { path: "Dockerfile", body: "FROM scratch\n" };
const withDockerfile = (...entries: TarEntrySpec[]) => gzip(tarArchive([dockerfile, ...entries]));
const good = gzip(sampleContext());

/** Each upload a hostile or careless user might make, and the reason they should read. */
const HOSTILE: { name: string; key: string; body: Buffer; metadata?: Record<string, string>; reason: RegExp }[] = [
  { name: "key outside contexts/", key: "uploads/app/v1.tar.gz", body: good, reason: /not under contexts\// },
  { name: "key without repository", key: "contexts/v1.tar.gz", body: good, reason: /names no repository/ },
  { name: "key with a zip suffix", key: "contexts/app/v1.zip", body: good, reason: /does not end in \.tar\.gz/ },
  {
    name: "uppercase repository",
    key: "contexts/MyApp/v1.tar.gz",
    body: good,
    reason: /"MyApp" is not a valid image name/,
  },
  { name: "tag starting with a dash", key: "contexts/app/-v1.tar.gz", body: good, reason: /tag "-v1" is not a valid/ },
  { name: "tag with a space", key: "contexts/app/v 1.tar.gz", body: good, reason: /tag "v 1" is not a valid/ },
  { name: "text named .tar.gz", key: "contexts/h/text/1.tar.gz", body: Buffer.from("hello"), reason: /not gzip/ },
  { name: "empty object", key: "contexts/h/empty/1.tar", body: Buffer.alloc(0), reason: /empty/ },
  {
    name: "truncated gzip",
    key: "contexts/h/trunc/1.tgz",
    body: withDockerfile({ path: "blob", body: Buffer.alloc(300_000, 1) }).subarray(0, 400),
    reason: /truncated/,
  },
  {
    name: "no Dockerfile",
    key: "contexts/h/nodockerfile/1.tar.gz",
    body: gzip(tarArchive([{ path: "app.txt", body: "x" }])),
    reason: /no Dockerfile at "Dockerfile"/,
  },
  {
    name: "absolute path",
    key: "contexts/h/absolute/1.tar.gz",
    body: withDockerfile({ path: "/etc/cron.d/x", body: "x" }),
    reason: /absolute path/,
  },
  {
    name: "dot-dot path",
    key: "contexts/h/dotdot/1.tar.gz",
    body: withDockerfile({ path: "../../root/.ssh/authorized_keys", body: "x" }),
    reason: /"\.\." path/,
  },
  {
    name: "symlink escaping",
    key: "contexts/h/symlink/1.tar.gz",
    body: withDockerfile({ path: "creds", type: "SymbolicLink", linkpath: "../../../home" }),
    reason: /symlink "creds" points outside/,
  },
  {
    name: "absolute symlink",
    key: "contexts/h/abslink/1.tar.gz",
    body: withDockerfile({ path: "etc", type: "SymbolicLink", linkpath: "/etc" }),
    reason: /absolute path "\/etc"/,
  },
  {
    name: "hard link escaping",
    key: "contexts/h/hardlink/1.tar.gz",
    body: withDockerfile({ path: "h", type: "Link", linkpath: "../x" }),
    reason: /hard link "h" points outside/,
  },
  {
    name: "character device",
    key: "contexts/h/chardev/1.tar.gz",
    body: withDockerfile({ path: "dev/mem", type: "CharacterDevice" }),
    reason: /character device/,
  },
  {
    name: "fifo",
    key: "contexts/h/fifo/1.tar.gz",
    body: withDockerfile({ path: "pipe", type: "FIFO" }),
    reason: /a fifo/,
  },
  {
    name: "too many entries",
    key: "contexts/h/entries/1.tar.gz",
    body: withDockerfile(...Array.from({ length: 60 }, (_, i) => ({ path: `f${i}`, body: "x" }))),
    reason: /more than the limit of 50 entries/,
  },
  {
    name: "gzip bomb",
    key: "contexts/h/bomb/1.tar.gz",
    body: withDockerfile({ path: "zeros", body: Buffer.alloc(20 * 1024 * 1024) }),
    reason: /more than the limit/,
  },
  {
    // Under the 1 MiB limit as uploaded, so only inspection can catch it.
    name: "gzip bomb after the archive's end (0.5 MB expanding to 512 MiB)",
    key: "contexts/h/trailingbomb/1.tar.gz",
    body: Buffer.concat([...gzipStream([tarArchive([dockerfile]), { zeros: 512 * 1024 ** 2 }])]),
    reason: /unpacks to more than the limit of 1048576 bytes/,
  },
  {
    name: "entry declaring 6 GiB",
    key: "contexts/h/declared/1.tar.gz",
    body: Buffer.concat([
      ...gzipStream([
        tarArchive([dockerfile], { endMarker: false }),
        tarHeader({ path: "zeros", size: 6 * 1024 ** 3 }),
        { zeros: 512 * 1024 ** 2 },
      ]),
    ]),
    reason: /files add up to more than the limit of 1048576 bytes/,
  },
  {
    name: "empty tar archive",
    key: "contexts/h/emptytar/1.tar.gz",
    body: gzip(tarArchive([])),
    reason: /^no Dockerfile at "Dockerfile" in the context \(the archive holds no files\)$/,
  },
  {
    name: "gzip inside gzip",
    key: "contexts/h/twice/1.tar.gz",
    body: gzip(good),
    reason: /gzip-compressed twice/,
  },
  {
    name: "sparse file",
    key: "contexts/h/sparse/1.tar.gz",
    body: withDockerfile({ path: "disk.img", type: "SparseFile", body: "x" }),
    reason: /"disk.img" is a sparse file/,
  },
  {
    name: "hard link to a symlink",
    key: "contexts/h/linktolink/1.tar.gz",
    body: withDockerfile(
      { path: "d/l", type: "SymbolicLink", linkpath: "../x" },
      { path: "h", type: "Link", linkpath: "d/l" },
    ),
    reason: /hard link "h" points to "d\/l", which is not a regular file/,
  },
  {
    name: "symlink inside a symlink",
    key: "contexts/h/throughlink/1.tar.gz",
    body: withDockerfile(
      { path: "a", type: "SymbolicLink", linkpath: "." },
      { path: "a/l", type: "SymbolicLink", linkpath: "../x" },
    ),
    reason: /"a\/l" lies inside "a", which is a symlink/,
  },
  {
    name: "build-args not JSON",
    key: "contexts/h/buildargs/1.tar.gz",
    body: good,
    metadata: { "build-args": "VERSION=1" },
    reason: /build-args metadata is not JSON/,
  },
  {
    name: "dockerfile metadata escaping",
    key: "contexts/h/dfpath/1.tar.gz",
    body: good,
    metadata: { dockerfile: "../Dockerfile" },
    reason: /points outside the context/,
  },
  {
    name: "invalid extra tag",
    key: "contexts/h/extratag/1.tar.gz",
    body: good,
    metadata: { "extra-tags": "ok,bad tag" },
    reason: /extra-tags: tag "bad tag"/,
  },
];

describe("trigger: hostile and careless uploads", () => {
  let records: BuildRecord[] = [];

  beforeAll(async () => {
    const env = await deployOnBed({
      allKeys: true,
      env: { CONTEXT_MAX_ENTRIES: "50", CONTEXT_MAX_BYTES: String(1024 * 1024) },
    });
    const handler = createTriggerHandler(env.deps, createLogger("hostile-test"));
    for (const upload of HOSTILE) await env.upload(upload.key, upload.body, upload.metadata);
    for (const event of await env.notifications(HOSTILE.length)) await handler(event);
    const repositories = new Set(["-", ...HOSTILE.map((u) => u.key.replace(/^contexts\/|\/[^/]*$/g, ""))]);
    for (const repository of repositories) records.push(...(await queryByRepository(env.config, repository)));
    records = records.filter((r) => r.source.bucket === env.bucket);
  }, 180_000);

  it.each(HOSTILE)("rejects $name with a reason a person understands", ({ key, reason }) => {
    const record = records.find((r) => r.source.key === key);
    expect(record?.status).toBe("REJECTED");
    expect(record?.reason).toMatch(reason);
    expect(record?.jobName).toBeUndefined();
  });

  it("records every hostile upload once, and creates no Job for any of them", async () => {
    expect(records).toHaveLength(HOSTILE.length);
    const { batch } = admin();
    const ids = new Set(records.map((r) => r.id));
    const jobs = await batch.listNamespacedJob({ namespace: "dropbuild" });
    expect(jobs.items.filter((j) => ids.has(j.metadata?.labels?.["dropbuild.dev/build-id"] ?? ""))).toEqual([]);
  });
});
