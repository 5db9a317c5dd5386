import type { SubmitDeps, SubmitOutcome } from "../trigger/submit-upload.js";
import { submitUpload } from "../trigger/submit-upload.js";
import type { ContextCatalog, ContextVersion } from "./catalog.js";

export interface RebuildDeps {
  catalog: ContextCatalog;
  submit: SubmitDeps;
  /** Repositories rebuilt nightly whatever their tags say. */
  nightlyRepositories: string[];
  /** e.g. "{tag}-nightly-{date}" */
  nightlyTagFormat: string;
}

export interface NightlyReport {
  date: string;
  submitted: SubmitOutcome[];
  skipped: { repository: string; reason: string }[];
}

/** YYYYMMDD (UTC) of the event's time: a redelivered schedule or event keeps its time, so its builds keep their ids. */
export const dayOf = (time: Date) => time.toISOString().slice(0, 10).replaceAll("-", "");

function resubmit(
  context: ContextVersion,
  deps: RebuildDeps,
  trigger: "nightly" | "event",
  day: string,
  extraTags?: (tag: string) => string[],
) {
  return submitUpload(
    {
      bucket: context.bucket,
      // The trigger takes keys as S3 events carry them: URL-encoded.
      encodedKey: encodeURIComponent(context.key),
      versionId: context.versionId,
      etag: context.etag,
    },
    deps.submit,
    { trigger, variant: `${trigger}:${day}`, extraTags },
  );
}

/**
 * Re-submit the newest context of every opted-in repository (object tag
 * dropbuild-nightly=true, or listed in configuration). Each pushes its tag
 * again plus a dated tag. The build id is derived from (context version,
 * "nightly", date), so running twice for the same night builds once.
 */
export async function nightlyRebuild(deps: RebuildDeps, time: Date): Promise<NightlyReport> {
  const day = dayOf(time);
  const report: NightlyReport = { date: day, submitted: [], skipped: [] };
  const newest = await deps.catalog.newestPerRepository();
  const listed = new Set(deps.nightlyRepositories);
  for (const repository of listed) {
    if (!newest.has(repository))
      report.skipped.push({ repository, reason: "listed for nightly rebuilds, but it has no context" });
  }
  for (const [repository, context] of [...newest].sort(([a], [b]) => a.localeCompare(b))) {
    const opted = listed.has(repository) || (!context.deleted && (await deps.catalog.optedIn(context)));
    if (!opted) continue;
    if (context.deleted) {
      report.skipped.push({ repository, reason: `its newest context ${context.key} was deleted` });
      continue;
    }
    const dated = (tag: string) => [deps.nightlyTagFormat.replaceAll("{tag}", tag).replaceAll("{date}", day)];
    report.submitted.push(await resubmit(context, deps, "nightly", day, dated));
  }
  return report;
}

export interface RebuildRequest {
  repository: string;
  tag?: string;
}

/**
 * Another system asks for a rebuild (EventBridge, source dropbuild.rebuild):
 * the named context, or the repository's newest. Trigger "event"; the same
 * event delivered again builds once that day.
 */
export async function eventRebuild(
  request: RebuildRequest,
  deps: RebuildDeps,
  time: Date,
): Promise<SubmitOutcome | { outcome: "not-found"; reason: string }> {
  const context = await deps.catalog.find(request.repository, request.tag);
  if (!context) {
    return {
      outcome: "not-found",
      reason: `no context for ${request.repository}${request.tag ? `:${request.tag}` : ""} in the bucket`,
    };
  }
  return resubmit(context, deps, "event", dayOf(time));
}
