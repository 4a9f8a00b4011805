import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/**
 * The shared rate gate's statements (tables in migrations/0002_rate_limit.sql). Each is ONE
 * autocommit statement, so a reservation costs one round trip and holds its row lock only for the
 * statement itself. Every time is the database's `clock_timestamp()`: workers on machines with skewed
 * clocks still agree, and they receive durations to wait, never instants.
 *
 * Rate: GCRA with no burst allowance. `next_slot_at` is the earliest time the next request may be
 * sent; a reservation takes `greatest(next_slot_at, now)` and pushes `next_slot_at` one spacing
 * later. Slots are handed out in the order the row lock is granted (FIFO across all processes), and
 * any `requests` consecutive slots span `requests × spacing`, which is more than the window as long
 * as spacing > windowMs / requests.
 *
 * Measured on PostgreSQL 17 on loopback, 2 vCPUs: see bench/rate-gate.bench.ts for the figures.
 */

const MS = sql`interval '1 millisecond'`;

export interface SeatRequest {
  key: string;
  /** Seats 0 … concurrency − 1 are usable. */
  concurrency: number;
  leaseId: string;
  leaseMs: number;
  spacingMs: number;
  requests: number;
  windowMs: number;
}

export interface SeatGrant {
  /** The seat taken, or `undefined` when every usable seat is held by an unexpired lease. */
  seat: number | undefined;
  /** With a seat: ms to wait, from now, until the reserved send time. */
  waitMs: number;
  /** How many usable seats exist; fewer than `concurrency` means they must be created first. */
  seats: number;
}

/** Reserves the next send slot of an account without a concurrency limit; returns ms to wait. */
export async function reserveSlot(db: Executor, key: string, spacingMs: number): Promise<number> {
  const spacing = sql`${spacingMs}::float8 * ${MS}`;
  const { rows } = await sql<{ wait_ms: number }>`
    INSERT INTO rate_limit_state AS r (key, next_slot_at)
    VALUES (${key}, clock_timestamp() + ${spacing})
    ON CONFLICT (key) DO UPDATE SET next_slot_at = greatest(r.next_slot_at, clock_timestamp()) + ${spacing}
    RETURNING greatest(0, extract(epoch FROM r.next_slot_at - clock_timestamp()) * 1000 - ${spacingMs}::float8)::float8
      AS wait_ms
  `.execute(db);
  return rows[0]?.wait_ms ?? 0;
}

/**
 * Takes a free (or expired) seat and, in the same statement, reserves the send slot: no crash can
 * leave a seat without a slot or the reverse. No advisory lock or explicit transaction is needed:
 * `FOR UPDATE SKIP LOCKED` skips a seat another statement is taking, and a seat taken and committed
 * after our snapshot is re-checked on its newest version (READ COMMITTED's EvalPlanQual), so two
 * callers never hold one seat. The seat is taken before the slot because a slot reserved while
 * still waiting for a seat would be sent late, closer to the next `requests` slots than the window.
 *
 * The slot also respects the latest releases: the remote counts a request when it arrives, which may
 * be anywhere up to its release (a fresh TLS connection can take longer than the spacing's margin).
 * With `concurrency` c, at most c − 1 others are in flight, so the (requests − c + 1)-th newest
 * release plus the window bounds every arrival the remote may still count; for c = 1 this is the
 * exact sliding window of the in-process gate. It costs nothing while requests end within
 * `windowMs × (1/utilisation − 1)` of their slot and at most one request duration per window beyond.
 */
export async function takeSeat(db: Executor, req: SeatRequest): Promise<SeatGrant> {
  const spacing = sql`${req.spacingMs}::float8 * ${MS}`;
  const { rows } = await sql<{ seat: number | null; wait_ms: number | null; seats: number }>`
    WITH free AS (
      SELECT key, seat FROM rate_limit_seat
      WHERE key = ${req.key} AND seat < ${req.concurrency}
        AND (lease_id IS NULL OR expires_at <= clock_timestamp())
      ORDER BY seat
      LIMIT 1
      FOR UPDATE SKIP LOCKED
    ), taken AS (
      UPDATE rate_limit_seat AS s
      SET lease_id = ${req.leaseId}::uuid, expires_at = clock_timestamp() + ${req.leaseMs}::float8 * ${MS}
      FROM free
      WHERE s.key = free.key AND s.seat = free.seat
      RETURNING s.seat
    ), slot AS (
      INSERT INTO rate_limit_state AS r (key, next_slot_at)
      SELECT ${req.key}::text, clock_timestamp() + ${spacing} FROM taken
      ON CONFLICT (key) DO UPDATE SET next_slot_at = greatest(
        r.next_slot_at,
        clock_timestamp(),
        -- NULL (ignored by greatest) until enough releases are known
        r.released_at[cardinality(r.released_at) - ${req.requests - req.concurrency}::int]
          + ${req.windowMs}::float8 * ${MS}
      ) + ${spacing}
      RETURNING r.next_slot_at
    )
    SELECT
      (SELECT seat FROM taken) AS seat,
      (SELECT greatest(0, extract(epoch FROM next_slot_at - clock_timestamp()) * 1000 - ${req.spacingMs}::float8)::float8
         FROM slot) AS wait_ms,
      (SELECT count(*)::int FROM rate_limit_seat WHERE key = ${req.key} AND seat < ${req.concurrency}) AS seats
  `.execute(db);
  const row = rows[0];
  return { seat: row?.seat ?? undefined, waitMs: row?.wait_ms ?? 0, seats: row?.seats ?? 0 };
}

/** Idempotent; also re-creates seats lost with an unlogged table after a server crash. */
export async function createSeats(db: Executor, key: string, concurrency: number): Promise<void> {
  await sql`
    INSERT INTO rate_limit_seat (key, seat)
    SELECT ${key}, g FROM generate_series(0, ${concurrency}::int - 1) AS g
    ON CONFLICT DO NOTHING
  `.execute(db);
}

/**
 * Frees the seat if this lease still holds it (an expired lease may already have been reclaimed by
 * another caller, whose seat must stay taken) and records the release time, keeping the newest
 * `requests`. The release is recorded either way: the request did go out, and a later time only
 * makes the next grant more careful. Returns whether the seat was still ours.
 */
export async function releaseSeat(
  db: Executor,
  lease: { key: string; seat: number; leaseId: string; requests: number },
): Promise<boolean> {
  const { rows } = await sql<{ freed: number }>`
    WITH freed AS (
      UPDATE rate_limit_seat SET lease_id = NULL, expires_at = NULL
      WHERE key = ${lease.key} AND seat = ${lease.seat} AND lease_id = ${lease.leaseId}::uuid
      RETURNING seat
    ), logged AS (
      UPDATE rate_limit_state AS r
      SET released_at = (r.released_at || clock_timestamp())[greatest(1, cardinality(r.released_at) + 2 - ${lease.requests}::int):]
      WHERE r.key = ${lease.key}
      RETURNING 1
    )
    SELECT (SELECT count(*)::int FROM freed) AS freed
  `.execute(db);
  return (rows[0]?.freed ?? 0) > 0;
}
