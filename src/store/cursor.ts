import * as z from "zod/mini";
import { BUILD_STATUSES, type BuildStatus } from "../build/record.js";

/**
 * A cursor is where a page stopped: the DynamoDB key of its last item,
 * base64url JSON, or for a list across all statuses one such cursor per
 * status. Cursors come back from clients, so each is checked before it
 * reaches DynamoDB, which answers a malformed or foreign start key with a
 * ValidationException (a 500 to the caller): it must be a key of the index
 * the query reads, for the same partition value, inside the query's time
 * range. Anything else is an InvalidCursorError, a 400 naming the parameter.
 */
export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
  readonly code = "INVALID_CURSOR";
}

/** Which query a cursor must continue: the index, its partition value, and the query's time range. */
export interface CursorScope {
  index: "repository" | "status";
  value: string;
  since?: string;
  until?: string;
}

export type StartKey = Record<string, string>;

const text = z.string().check(z.minLength(1), z.maxLength(1024));
const KEYS = {
  repository: z.strictObject({ id: text, submittedAt: text, repository: text }),
  status: z.strictObject({ id: text, submittedAt: text, status: z.enum(BUILD_STATUSES) }),
};
const StatusCursors = z.partialRecord(z.enum(BUILD_STATUSES), z.nullable(z.string()));

export const encodeCursor = (key: Record<string, unknown> | undefined) =>
  key ? Buffer.from(JSON.stringify(key)).toString("base64url") : undefined;

const shown = (cursor: string) => JSON.stringify(cursor.length > 40 ? `${cursor.slice(0, 40)}…` : cursor);

function decode(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new InvalidCursorError(`cursor ${shown(cursor)} is not one this API returned`);
  }
}

/** The DynamoDB start key a cursor holds, checked against the query it must continue. */
export function startKeyFrom(cursor: string | undefined, scope: CursorScope): StartKey | undefined {
  if (!cursor) return undefined;
  const parsed = decode(cursor);
  const key = KEYS[scope.index].safeParse(parsed);
  if (!key.success) {
    const other = KEYS[scope.index === "status" ? "repository" : "status"].safeParse(parsed).success;
    if (!other) throw new InvalidCursorError(`cursor ${shown(cursor)} is not one this API returned`);
    throw anotherQuery(cursor);
  }
  const value = "repository" in key.data ? key.data.repository : key.data.status;
  const outside =
    (scope.since !== undefined && key.data.submittedAt < scope.since) ||
    (scope.until !== undefined && key.data.submittedAt > scope.until);
  if (value !== scope.value || outside) {
    throw anotherQuery(cursor);
  }
  return key.data;
}

/** The per-status cursors of a list across all statuses (null: that status is done). */
export function statusCursorsFrom(cursor: string | undefined): Partial<Record<BuildStatus, string | null>> {
  if (!cursor) return {};
  const parsed = decode(cursor);
  const cursors = StatusCursors.safeParse(parsed);
  if (cursors.success) return cursors.data;
  if (KEYS.repository.safeParse(parsed).success || KEYS.status.safeParse(parsed).success) throw anotherQuery(cursor);
  throw new InvalidCursorError(`cursor ${shown(cursor)} is not one this API returned`);
}

const anotherQuery = (cursor: string) =>
  new InvalidCursorError(
    `cursor ${shown(cursor)} continues another query (its repository, status or time range differ); start again without it`,
  );
