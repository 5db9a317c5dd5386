import { buildIdFor } from "../build/identity.js";
import { type BuildRecord, skippedRecord } from "../build/record.js";
import { publishOutcome } from "../builds/publish-outcome.js";
import type { BuildQueries } from "../store/ports.js";
import type { SubmitDeps, SubmitOutcome } from "../trigger/submit-upload.js";
import { submitUpload } from "../trigger/submit-upload.js";
import type { ContextCatalog, ContextVersion } from "./catalog.js";
import { judgeInputs, type RebuildPolicy } from "./unchanged.js";

export interface RebuildDeps {
  catalog: ContextCatalog;
  submit: SubmitDeps;
  /** Where the last successful build of a context is looked up (NIGHTLY_REBUILD=changed). */
  queries: BuildQueries;
  /** NIGHTLY_REBUILD: "changed" skips (and records) a rebuild whose inputs are unchanged. */
  policy: RebuildPolicy;
  /** Repositories rebuilt nightly whatever their tags say. */
  nightlyRepositories: string[];
  /** e.g. "{tag}-nightly-{date}" */
  nightlyTagFormat: string;
}

/** A rebuild not run because its inputs had not changed: its SKIPPED record's id, and the build it matched. */
export type UnchangedOutcome = { outcome: "unchanged"; id: string; since: string; reason: string };

export interface NightlyReport {
  date: string;
  submitted: (SubmitOutcome | UnchangedOutcome)[];
  skipped: { repository: string; reason: string }[];
}

/** YYYYMMDD (UTC) of the event's time: a redelivered schedule or event keeps its time, so its builds keep their ids. */
export const dayOf = (time: Date) => time.toISOString().slice(0, 10).replaceAll("-", "");

async function resubmit(
  context: ContextVersion,
  deps: RebuildDeps,
  trigger: "nightly" | "event",
  day: string,
  options: { extraTags?: (tag: string) => string[]; force?: boolean } = {},
): Promise<SubmitOutcome | UnchangedOutcome> {
  // A forced rebuild has ids of its own: the day's SKIPPED record must not make it a duplicate.
  const variant = `${trigger}:${day}${options.force ? ":forced" : ""}`;
  if (deps.policy === "changed" && !options.force) {
    const skipped = await skipIfUnchanged(context, deps, trigger, variant);
    if (skipped) return skipped;
  }
  return submitUpload(
    {
      bucket: context.bucket,
      // The trigger takes keys as S3 events carry them: URL-encoded.
      encodedKey: encodeURIComponent(context.key),
      versionId: context.versionId,
      etag: context.etag,
    },
    deps.submit,
    { trigger, variant, extraTags: options.extraTags },
  );
}

/**
 * Record (and publish) a SKIPPED outcome when the context's inputs are those
 * of its last successful build. Its id is the one the rebuild would have
 * had, so running the same night again finds it and skips once.
 */
async function skipIfUnchanged(
  context: ContextVersion,
  deps: RebuildDeps,
  trigger: "nightly" | "event",
  variant: string,
): Promise<UnchangedOutcome | undefined> {
  const { submit } = deps;
  const source = { bucket: context.bucket, key: context.key, versionId: context.versionId, etag: context.etag };
  const id = buildIdFor(source, variant);
  // Run before (the same night again): a skip stays a skip, a build is the trigger's duplicate.
  const existing = await submit.store.get(id);
  if (existing && existing.status !== "SKIPPED") return undefined;
  if (existing) return unchanged(existing, submit);
  const verdict = await judgeInputs(context, {
    queries: deps.queries,
    registry: submit.registry,
    mirror: submit.settings.job.registryMirror,
  });
  if (!verdict.unchanged) return undefined;
  const reason = `inputs unchanged: the same context version and base image digests as build ${verdict.since.id}`;
  const record = skippedRecord(
    {
      id,
      source,
      trigger,
      namespace: submit.settings.job.namespace,
      now: submit.now(),
      retentionDays: submit.settings.retentionDays,
    },
    verdict.since,
    verdict.stages,
    reason,
  );
  const put = await submit.store.create(record);
  return unchanged(put.created ? record : put.existing, submit);
}

/** A SKIPPED record, its event published (again, if an earlier run could not). */
async function unchanged(record: BuildRecord, submit: SubmitDeps): Promise<UnchangedOutcome> {
  if (record.status === "SKIPPED" && !record.eventPublishedAt) await publishOutcome(record, submit);
  return { outcome: "unchanged", id: record.id, since: record.unchangedSince ?? "", reason: record.reason ?? "" };
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
    report.submitted.push(await resubmit(context, deps, "nightly", day, { extraTags: dated }));
  }
  return report;
}

export interface RebuildRequest {
  repository: string;
  tag?: string;
  /** Rebuild even when NIGHTLY_REBUILD=changed finds the inputs unchanged. */
  force?: boolean;
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
): Promise<SubmitOutcome | UnchangedOutcome | { outcome: "not-found"; reason: string }> {
  const context = await deps.catalog.find(request.repository, request.tag);
  if (!context) {
    return {
      outcome: "not-found",
      reason: `no context for ${request.repository}${request.tag ? `:${request.tag}` : ""} in the bucket`,
    };
  }
  return resubmit(context, deps, "event", dayOf(time), { force: request.force });
}
