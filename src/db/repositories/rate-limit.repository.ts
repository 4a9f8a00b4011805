import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/**
 * The shared rate gate's two calls (tables and functions in migrations/0014_rate_gate_gcra.sql,
 * where the rules are spelled out). Each is ONE autocommit round trip to a PL/pgSQL function: no
 * explicit transaction, no advisory lock, the account's row lock held only for the call. Every time
 * is the database's `clock_timestamp()`, so workers on machines with skewed clocks agree; they are
 * handed durations to wait, never instants.
 *
 * The state of an account is O(1) whatever its limit: one `rate_gate` row (GCRA's theoretical
 * arrival time and the next request number) and one lease per request in flight. 0002's design kept
 * one seat row per request allowed in the window, and each reservation scanned and sorted them: at
 * a configured 1,000,000 requests a minute a call cost 0.1–0.4 s of database time. Now a
 * reservation reads the account's row and its few leases, inserts one lease and updates the row;
 * a release deletes the lease and, only when the request outlasted the utilization margin, moves
 * the row's time on. bench/rate-gate.bench.ts prints the current cost per call at 1,000 and
 * 1,000,000 requests a minute.
 */

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
  /** `seq`: the request's number, needed to release it; `waitMs`: until its slot. */
  | { granted: true; seq: number; waitMs: number }
  /**
   * Every call seat is busy, or request n − `requests` is still in flight. `holderSlotInMs`: when
   * the earliest holder is due to send (it cannot release before), 0 when it already has; no use
   * asking again until then.
   */
  | { granted: false; holderSlotInMs: number };

/** Reserves the next send slot of the account, and a lease on it (see rate_gate_acquire). */
export async function takeSeats(db: Executor, req: SeatRequest): Promise<SeatGrant> {
  const { rows } = await sql<{
    granted: boolean;
    seq: number | null;
    wait_ms: number | null;
    retry_in_ms: number | null;
  }>`
    SELECT granted, seq, wait_ms, retry_in_ms
    FROM rate_gate_acquire(${req.key}::text, ${req.requests}::int, ${req.windowMs}::float8, ${req.spacingMs}::float8,
                           ${req.concurrency}::int, ${req.leaseId}::uuid, ${req.leaseMs}::float8)
  `.execute(db);
  const row = rows[0];
  if (row?.granted) return { granted: true, seq: Number(row.seq), waitMs: row.wait_ms ?? 0 };
  return { granted: false, holderSlotInMs: row?.retry_in_ms ?? 0 };
}

/**
 * Gives the lease back if it is still ours (one given up on may have been taken as released), and
 * keeps request `seq + requests` at least `windowMs` from now. Returns whether it was still ours.
 */
export async function releaseSeats(
  db: Executor,
  lease: { key: string; seq: number; leaseId: string; requests: number; windowMs: number; spacingMs: number },
): Promise<boolean> {
  const { rows } = await sql<{ released: boolean }>`
    SELECT rate_gate_release(${lease.key}::text, ${lease.seq}::bigint, ${lease.leaseId}::uuid, ${lease.requests}::int,
                             ${lease.windowMs}::float8, ${lease.spacingMs}::float8) AS released
  `.execute(db);
  return rows[0]?.released ?? false;
}

/**
 * Keeps the holders' leases alive: each moves on to `leaseMs` from now (never back). A live process
 * renews the leases of its calls in flight every few seconds, so a lease outlives its slot by
 * `leaseMs` only when its holder stopped renewing: the process died (or froze that long).
 */
export async function renewLeases(db: Executor, leaseIds: readonly string[], leaseMs: number): Promise<void> {
  await sql`
    UPDATE rate_gate_lease
    SET expires_at = greatest(expires_at, clock_timestamp() + ${leaseMs}::float8 * interval '1 millisecond')
    WHERE lease_id = ANY(${leaseIds}::uuid[])
  `.execute(db);
}
