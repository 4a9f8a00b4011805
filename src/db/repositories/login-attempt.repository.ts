import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/**
 * Failed sign-ins (login_attempt), counted per key (an e-mail, an address) in a sliding window:
 * past its free failures a key waits, doubling with each failure, across every process.
 */

export interface AttemptLimit {
  key: string;
  /** Failures in the window before each further attempt on this key must wait. */
  freeFailures: number;
}

/** How long attempts wait once a key is past its free failures. */
export interface AttemptBackoff {
  /** Failures older than this count for nothing. */
  windowSeconds: number;
  /** The wait after the first failure past the free ones; it doubles with each further failure. */
  firstDelaySeconds: number;
  maxDelaySeconds: number;
}

/** A recorded attempt: `ctid` names the row exactly, so a successful sign-in can take back its own. */
export interface AttemptRow {
  key: string;
  ctid: string;
}

/**
 * Serialises sign-ins on these keys until the transaction ends, across processes. Callers pass the
 * keys in one global order (sorted), so two transactions can never wait for each other's lock.
 */
export async function lockAttemptKeys(trx: Executor, keys: readonly string[]): Promise<void> {
  await sql`
    SELECT pg_advisory_xact_lock(hashtextextended('simbind.login_attempt:' || k, 0))
    FROM unnest(${keys}::text[]) WITH ORDINALITY AS l(k, n) ORDER BY n
  `.execute(trx);
}

/**
 * Seconds until an attempt on every key is allowed again, or undefined when it is now. A key with
 * n ≥ free failures in the window waits first·2^(n − free) seconds (at most max) after its latest.
 * One statement over `login_attempt_key_idx`, whatever the number of keys.
 */
export async function secondsUntilAllowed(
  db: Executor,
  limits: readonly AttemptLimit[],
  backoff: AttemptBackoff,
): Promise<number | undefined> {
  const window = sql`${backoff.windowSeconds} * interval '1 second'`;
  // The exponent is capped so a key flooded by direct inserts cannot overflow double precision.
  const { rows } = await sql<{ seconds: number | null }>`
    SELECT max(ceil(extract(epoch FROM
             c.latest
             + least(${backoff.maxDelaySeconds}::float8,
                     ${backoff.firstDelaySeconds}::float8 * power(2, least(c.n - l.free_failures, 40)))
               * interval '1 second'
             - now())))::int AS seconds
    FROM unnest(${limits.map((l) => l.key)}::text[], ${limits.map((l) => l.freeFailures)}::int[])
      AS l(key, free_failures)
    CROSS JOIN LATERAL (
      SELECT count(*)::int AS n, max(a.attempted_at) AS latest
      FROM login_attempt a
      WHERE a.key = l.key AND a.attempted_at > now() - ${window}
    ) c
    WHERE c.n >= l.free_failures
  `.execute(db);
  const seconds = rows[0]?.seconds ?? 0;
  return seconds > 0 ? seconds : undefined;
}

export async function insertAttempts(db: Executor, keys: readonly string[]): Promise<AttemptRow[]> {
  const { rows } = await sql<AttemptRow>`
    INSERT INTO login_attempt (key) SELECT unnest(${keys}::text[])
    RETURNING key, ctid::text AS ctid
  `.execute(db);
  return rows;
}

/** Deletes every attempt of these keys, and these exact rows. */
export async function deleteAttempts(
  db: Executor,
  which: { keys: readonly string[]; rows: readonly AttemptRow[] },
): Promise<void> {
  if (which.keys.length > 0) {
    await db.deleteFrom('login_attempt').where('key', 'in', which.keys).execute();
  }
  if (which.rows.length > 0) {
    // ctid = ANY(…) is a TID scan; the key check guards against a ctid reused after a VACUUM.
    await sql`
      DELETE FROM login_attempt
      WHERE ctid = ANY(${which.rows.map((r) => r.ctid)}::tid[])
        AND key = ANY(${which.rows.map((r) => r.key)}::text[])
    `.execute(db);
  }
}

/** Attempts that left the window count for nothing: one set-based DELETE. */
export async function deleteStaleAttempts(db: Executor, windowSeconds: number): Promise<number> {
  const result = await db
    .deleteFrom('login_attempt')
    .where('attempted_at', '<=', sql<Date>`now() - ${windowSeconds} * interval '1 second'`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
