import { type BuildRecord, type BuildStatus, STATUS_RANK } from "../../src/build/record.js";

/** A build record of team/api:1.0 in `status`, for unit tests; `fields` override any field. */
export function recordFixture(status: BuildStatus, fields: Partial<BuildRecord> = {}): BuildRecord {
  return {
    id: "0123456789abcdef",
    status,
    statusRank: STATUS_RANK[status],
    repository: "team/api",
    tag: "1.0",
    destinations: ["registry.test/team/api:1.0"],
    source: { bucket: "contexts", key: "contexts/team/api/1.0.tar.gz" },
    trigger: "upload",
    namespace: "dropbuild",
    submittedAt: "2026-11-25T09:59:59Z",
    attempts: 0,
    jobName: "dropbuild-0123456789abcdef",
    expiresAt: 0,
    ...fields,
  };
}
