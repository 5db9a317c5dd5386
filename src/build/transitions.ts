/**
 * How a build record may move, the one statement of it: each allowed move
 * is a named clause of the DynamoDB condition every status write carries,
 * so the table refuses anything else, whoever writes (racing triggers,
 * reconcilers, a cancel, a late retry). In the clauses, #rank is the stored
 * statusRank (src/build/record.ts: QUEUED 0, RUNNING 1, every outcome 2),
 * :rank the written status's rank, :queued and :running those ranks, and
 * :attemptsNow the written attempt count. The reconciler's side of the
 * lifecycle — which write to make when — is src/reconcile/lifecycle.ts.
 */
export const ALLOWED_MOVES = {
  /** Forward: QUEUED → RUNNING → an outcome; never back, never from one outcome to another. */
  forward: "#rank < :rank",
  /** A waiting build's queue position changes (the reconciler writes positions on QUEUED records). */
  requeued: "(#rank = :rank AND :rank = :queued)",
  /** A running build's later attempt (the Job controller started a new pod after one failed). */
  retried: "(#rank = :rank AND :rank = :running AND attempts < :attemptsNow)",
} as const;

/** The condition of every status write: the record exists, and the move is one of ALLOWED_MOVES. */
export const STATUS_WRITE_CONDITION = `attribute_exists(id) AND (${Object.values(ALLOWED_MOVES).join(" OR ")})`;
