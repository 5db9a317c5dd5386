/** The outcome of a check that can reject input with a reason a person understands. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

export const accept = <T>(value: T): Checked<T> => ({ ok: true, value });
export const refuse = <T = never>(reason: string): Checked<T> => ({ ok: false, reason });
