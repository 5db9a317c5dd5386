import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import type { BuildRecord } from "../build/record.js";

export const EVENT_SOURCE = "dropbuild";
export const DETAIL_TYPES = {
  SUCCEEDED: "Build Succeeded",
  FAILED: "Build Failed",
  CANCELLED: "Build Cancelled",
  /** An upload refused before it was built (its record says why). */
  REJECTED: "Build Rejected",
} as const;

/** Terminal outcomes, published so teams can notify and chain builds without polling. */
export interface BuildEvents {
  publish(record: BuildRecord): Promise<void>;
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
            Detail: JSON.stringify(record),
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
