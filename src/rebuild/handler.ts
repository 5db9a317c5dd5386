import * as z from "zod/mini";
import type { Logger } from "../log.js";
import { eventRebuild, nightlyRebuild, type RebuildDeps } from "./rebuild.js";

export const REBUILD_SOURCE = "dropbuild.rebuild";

const RebuildEvent = z.object({
  source: z.literal(REBUILD_SOURCE),
  time: z.optional(z.string()),
  detail: z.object({
    repository: z.string().check(z.minLength(1, "detail.repository is required")),
    tag: z.optional(z.string().check(z.minLength(1))),
    force: z.optional(z.boolean()),
  }),
});

const Scheduled = z.looseObject({ time: z.optional(z.string()) });

/**
 * One function for both ways a rebuild starts: the nightly schedule, and an
 * EventBridge event `{ source: "dropbuild.rebuild", detail: { repository, tag? } }`.
 * A malformed rebuild event is refused with a reason, not retried forever.
 */
export function createRebuildHandler(deps: RebuildDeps, logger: Logger, now: () => Date = () => new Date()) {
  return async (event: unknown) => {
    const source = typeof event === "object" && event !== null ? (event as { source?: unknown }).source : undefined;
    if (source === REBUILD_SOURCE) {
      const parsed = RebuildEvent.safeParse(event);
      if (!parsed.success) {
        const reason = parsed.error.issues.map((i) => `${i.path.join(".") || "event"}: ${i.message}`).join("; ");
        logger.error("malformed rebuild event", { reason });
        return { outcome: "invalid-event" as const, reason };
      }
      const time = parsed.data.time ? new Date(parsed.data.time) : now();
      const result = await eventRebuild(parsed.data.detail, deps, time);
      logger.info("rebuild event handled", { ...parsed.data.detail, ...result });
      return result;
    }
    const time = Scheduled.parse(event ?? {}).time;
    const report = await nightlyRebuild(deps, time ? new Date(time) : now());
    for (const skip of report.skipped) logger.warn("nightly rebuild skipped", skip);
    logger.info("nightly rebuild finished", {
      date: report.date,
      submitted: report.submitted.length,
      skipped: report.skipped.length,
    });
    return report;
  };
}
