/**
 * What a client asks before each external call: "may I send one request to this account now?".
 * The production gate is shared through PostgreSQL so that every worker process together stays
 * within an account's limit; clients only see this interface.
 */

export interface AccountLimit {
  /** Identifies the external account, e.g. `revio:<credentials id>`; all processes share it. */
  key: string;
  /** Requests allowed per window, and the window length in ms (e.g. 500 per 60,000 ms). */
  requests: number;
  windowMs: number;
  /** At most this many calls in flight at once for the account (Jasper: 1); unlimited when absent. */
  concurrency?: number;
}

/** Gives the slot back (for the concurrency limit); always call it, in a `finally`. */
export type Release = () => Promise<void>;

export interface RateGate {
  acquire(limit: AccountLimit): Promise<Release>;
  /** Gives back what was released but not yet sent (shutdown, before the database closes). */
  settle?(): Promise<void>;
}

/** For code paths that must not be throttled (simulator self-tests, one-off CLI reads). */
export const unlimitedGate: RateGate = {
  acquire: () => Promise.resolve(() => Promise.resolve()),
};
