/** Lambda entry for S3 ObjectCreated under contexts/: the composition root is src/roots/trigger.ts. */
import type { S3Event } from "aws-lambda";
import { loadConfig } from "../src/config.js";
import { triggerRoot } from "../src/roots/trigger.js";
import type { TriggerResult } from "../src/trigger/handler.js";

const submit = triggerRoot(loadConfig());

export const handler = (event: S3Event): Promise<TriggerResult> => submit(event);
