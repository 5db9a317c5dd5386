import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { BuildRecord } from "../build/record.js";

export const EVENT_SOURCE = "dropbuild";
export const DETAIL_TYPES = {
  SUCCEEDED: "Build Succeeded",
  FAILED: "Build Failed",
  CANCELLED: "Build Cancelled",
  /** An upload refused before it was built (its record says why). */
  REJECTED: "Build Rejected",
  /** A rebuild not run because its inputs had not changed (its record says since which build). */
  SKIPPED: "Build Skipped",
} as const;

/** Terminal outcomes, published so teams can notify and chain builds without polling. */
export interface BuildEvents {
  publish(record: BuildRecord): Promise<void>;
}

/**
 * An outcome event's detail: the record, less the pinned Dockerfile (up to
 * 64 KiB, and in the record for whoever needs it); its provenance says what
 * went in by hash and digest. README "Outcome events" lists the fields.
 */
export function eventDetail(record: BuildRecord): Omit<BuildRecord, "pinnedDockerfile"> {
  const { pinnedDockerfile: _pinned, ...detail } = record;
  return detail;
}

export class EventBridgeBuildEvents implements BuildEvents {
  constructor(
    private readonly events: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(record: BuildRecord): Promise<void> {
    const detailType = DETAIL_TYPES[record.status as keyof typeof DETAIL_TYPES];
    if (!detailType) return;
    const out = await this.events.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: EVENT_SOURCE,
            DetailType: detailType,
            Detail: JSON.stringify(eventDetail(record)),
            EventBusName: this.busName,
            Resources: [],
          },
        ],
      }),
    );
    if (out.FailedEntryCount) {
      throw new Error(`EventBridge refused the ${detailType} event: ${out.Entries?.[0]?.ErrorMessage ?? "unknown"}`);
    }
  }
}
