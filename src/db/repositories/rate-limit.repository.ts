import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/**
 * The shared rate gate's statements (tables in migrations/0002_rate_limit.sql). Each is ONE
 * autocommit statement: no explicit transaction, no advisory lock, row locks held only for the
 * statement. Every time is the database's `clock_timestamp()`, so workers on machines with skewed
 * clocks agree; they are handed durations to wait, never instants.
 *
 * Two rules together, both in the reservation:
 * - Window seats (exact): `requests` seats per account; a request holds one from its reservation
 *   until `windowMs` after its release. The remote counts a request when it arrives, somewhere
 *   between our grant and our release, so whatever the network does (a cold TLS handshake, a
 *   retransmitted SYN, a GC pause) it never sees more than `requests` in a window. A released
 *   seat can be reserved before it frees: the slot is then put at its free time.
 * - Spacing (GCRA with no burst allowance): `next_slot_at` is the earliest time the next request may
 *   go; a reservation takes `greatest(next_slot_at, now, seat free time)` and pushes `next_slot_at`
 *   one spacing later. Slots are granted in the order the state row's lock is (FIFO across all
 *   processes), and sends are smooth instead of bursts of `requests` every window. With spacing just
 *   above windowMs / requests, a window seat has normally freed before its turn comes round, so the
 *   seats cost nothing until requests take longer than the margin (then about one request duration
 *   per window, like the in-process gate).
 *
 * Measured on PostgreSQL 17.10 over loopback, 2 vCPUs, fsync on, one caller (bench/rate-gate.bench.ts
 * prints the current figures): `takeSeats` p50 1.0 ms with 5 window seats, 1.4–1.6 ms with Rev.io's
 * 500 (the seat pick itself is a 0.2 ms index scan + sort of 500 rows; the rest is parsing, planning
 * and the writes); `releaseSeats` p50 0.3–0.4 ms; a bare `SELECT 1` 0.15 ms. The same with LOGGED
 * tables: 1.4–2.0 ms and 0.55–0.75 ms. At Rev.io's 500 a minute that is under 2 % of one backend.
 */

const MS = sql`interval '1 millisecond'`;

export interface SeatRequest {
  key: string;
  requests: number;
  windowMs: number;
  /** 0 when the account has no concurrency limit. */
  concurrency: number;
  leaseId: string;
  /** How long after its slot a lease is given up on (its holder presumed dead). */
  leaseMs: number;
  spacingMs: number;
}

export type SeatGrant =
  | { granted: true; waitMs: number }
  /**
   * `missingSeats`: fewer seats exist than the limit needs (new account, raised limit, crash).
   * `holderSlotInMs`: when the earliest holder of a call seat is due to send (its seat cannot free
   * before), 0 when it already has; no use polling until then.
   */
  | { granted: false; missingSeats: boolean; holderSlotInMs: number };

/**
 * Takes a call seat that is free now (when the account has a concurrency limit), the window seat
 * that frees first, and the send slot. `FOR UPDATE SKIP LOCKED` passes over a seat another statement
 * is taking; a seat taken and committed after our snapshot is re-checked on its newest version
 * (READ COMMITTED's EvalPlanQual), so two callers never hold one seat. A caller gets all three or
 * none, so no crash leaves a seat without a slot. The call seat comes before the slot because a
 * slot reserved while waiting for a call seat would be sent late. Answers "not granted" when every
 * call seat is busy, or every window seat is in flight.
 */
export async function takeSeats(db: Executor, req: SeatRequest): Promise<SeatGrant> {
  const spacing = sql`${req.spacingMs}::float8 * ${MS}`;
  const { rows } = await sql<{
    granted: boolean;
    wait_ms: number | null;
    missing_seats: boolean | null;
    holder_slot_in_ms: number | null;
  }>`
    WITH call_seat AS (
      SELECT seat FROM rate_limit_seat
      WHERE key = ${req.key} AND kind = 'call' AND seat < ${req.concurrency}::int
        AND (lease_id IS NULL OR free_at <= clock_timestamp())
      ORDER BY seat
      LIMIT 1
      FOR UPDATE SKIP LOCKED
    ), window_seat AS (
      SELECT seat, free_at FROM rate_limit_seat
      WHERE key = ${req.key} AND kind = 'window' AND seat < ${req.requests}::int
        AND (lease_id IS NULL OR free_at <= clock_timestamp())
      ORDER BY free_at
      LIMIT 1
      FOR UPDATE SKIP LOCKED
    ), chosen AS (
      SELECT w.seat AS window_seat, w.free_at, c.seat AS call_seat
      FROM window_seat AS w LEFT JOIN call_seat AS c ON true
      WHERE c.seat IS NOT NULL OR ${req.concurrency}::int = 0
    ), slot AS (
      INSERT INTO rate_limit_state AS r (key, next_slot_at)
      SELECT ${req.key}::text, greatest(clock_timestamp(), free_at) + ${spacing} FROM chosen
      ON CONFLICT (key) DO UPDATE
        SET next_slot_at = greatest(r.next_slot_at + ${spacing}, clock_timestamp() + ${spacing}, excluded.next_slot_at)
      RETURNING r.next_slot_at - ${spacing} AS slot_at
    ), taken AS (
      UPDATE rate_limit_seat AS s
      SET lease_id = ${req.leaseId}::uuid,
          free_at = slot.slot_at + ${req.leaseMs}::float8 * ${MS}
            + CASE s.kind WHEN 'window' THEN ${req.windowMs}::float8 * ${MS} ELSE interval '0' END
      FROM chosen, slot
      WHERE s.key = ${req.key}
        AND ((s.kind = 'window' AND s.seat = chosen.window_seat) OR (s.kind = 'call' AND s.seat = chosen.call_seat))
    )
    SELECT
      EXISTS (SELECT FROM chosen) AS granted,
      (SELECT greatest(0, extract(epoch FROM slot_at - clock_timestamp()) * 1000)::float8 FROM slot) AS wait_ms,
      CASE WHEN NOT EXISTS (SELECT FROM chosen) THEN
        (SELECT count(*) FILTER (WHERE kind = 'window' AND seat < ${req.requests}::int) < ${req.requests}::int
             OR count(*) FILTER (WHERE kind = 'call' AND seat < ${req.concurrency}::int) < ${req.concurrency}::int
           FROM rate_limit_seat WHERE key = ${req.key})
      END AS missing_seats,
      -- a held seat's free_at is its holder's slot + leaseMs (+ windowMs for window seats)
      CASE WHEN NOT EXISTS (SELECT FROM chosen) THEN
        (SELECT greatest(0, extract(epoch FROM min(free_at) - clock_timestamp()) * 1000 - ${req.leaseMs}::float8)::float8
           FROM rate_limit_seat
          WHERE key = ${req.key} AND kind = 'call' AND seat < ${req.concurrency}::int AND lease_id IS NOT NULL)
      END AS holder_slot_in_ms
  `.execute(db);
  const row = rows[0];
  if (row?.granted) return { granted: true, waitMs: row.wait_ms ?? 0 };
  return {
    granted: false,
    missingSeats: row?.missing_seats ?? true,
    holderSlotInMs: row?.holder_slot_in_ms ?? 0,
  };
}

/** Idempotent: creates whichever of the account's seats do not exist yet. */
export async function createSeats(
  db: Executor,
  seats: { key: string; requests: number; concurrency: number },
): Promise<void> {
  await sql`
    INSERT INTO rate_limit_seat (key, kind, seat)
    SELECT ${seats.key}, 'window', g FROM generate_series(0, ${seats.requests}::int - 1) AS g
    UNION ALL
    SELECT ${seats.key}, 'call', g FROM generate_series(0, ${seats.concurrency}::int - 1) AS g
    ON CONFLICT DO NOTHING
  `.execute(db);
}

/**
 * Frees the call seat now and the window seat `windowMs` from now, if this lease still holds them:
 * a lease given up on may have been taken over, and the new holder's seats must stay taken.
 * Returns how many seats were still ours.
 */
export async function releaseSeats(
  db: Executor,
  lease: { key: string; leaseId: string; windowMs: number },
): Promise<number> {
  const result = await sql`
    UPDATE rate_limit_seat
    SET lease_id = NULL,
        free_at = clock_timestamp() + CASE kind WHEN 'window' THEN ${lease.windowMs}::float8 * ${MS} ELSE interval '0' END
    WHERE key = ${lease.key} AND lease_id = ${lease.leaseId}::uuid
  `.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
