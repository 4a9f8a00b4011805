import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/**
 * The shared rate gate's calls (tables and functions in migrations/0014_rate_gate_gcra.sql, where
 * the rules are spelled out, 0027, 0028, 0029 and 0031). Each is ONE autocommit round trip to a PL/pgSQL function: no
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
 * the row's time on (only then locking the row: 0029). bench/rate-gate.bench.ts prints the current cost per call at 1,000 and
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
  /**
   * `seq`: the request's number, needed to release it; `waitMs`: until its slot. `seqs`: the
   * requests of the lease (a run, `takeRange`: seq … seq + seqs − 1, a spacing apart); 1 otherwise.
   */
  | { granted: true; seq: number; waitMs: number; seqs?: number }
  /**
   * Every call seat is busy, or request n − `requests` is still in flight. `holderSlotInMs`: when
   * the earliest holder is due to send (it cannot release before), 0 when it already has; no use
   * asking again until then.
   */
  | { granted: false; holderSlotInMs: number };

/** A granted request to give back: its number and its lease (see `SeatGrant`). */
export interface HeldSeat {
  seq: number;
  leaseId: string;
}

/**
 * Reserves the next send slot of the account, and a lease on it (see rate_gate_acquire), after
 * giving back `releasing`, this process's finished requests on the same account, in the same round
 * trip (rate_gate_acquire_after_release).
 */
export async function takeSeats(
  db: Executor,
  req: SeatRequest,
  releasing: readonly HeldSeat[] = [],
): Promise<SeatGrant> {
  const args = sql`${req.key}::text, ${req.requests}::int, ${req.windowMs}::float8, ${req.spacingMs}::float8,
                   ${req.concurrency}::int, ${req.leaseId}::uuid, ${req.leaseMs}::float8`;
  const { rows } = await sql<{
    granted: boolean;
    seq: number | null;
    wait_ms: number | null;
    retry_in_ms: number | null;
  }>`
    SELECT granted, seq, wait_ms, retry_in_ms
    FROM ${
      releasing.length === 0
        ? sql`rate_gate_acquire(${args})`
        : sql`rate_gate_acquire_after_release(${releasing.map((r) => r.seq)}::bigint[],
                                              ${releasing.map((r) => r.leaseId)}::uuid[], ${args})`
    }
  `.execute(db);
  return grantOf(rows[0]);
}

/** A gate function's answer as a `SeatGrant`. */
function grantOf(
  row:
    { granted: boolean; seq: number | null; wait_ms: number | null; retry_in_ms: number | null } | undefined,
): SeatGrant {
  if (row?.granted) return { granted: true, seq: Number(row.seq), waitMs: row.wait_ms ?? 0 };
  return { granted: false, holderSlotInMs: row?.retry_in_ms ?? 0 };
}

/** A grant made for another caller of the process, with the lease it was made on. */
export interface LeasedGrant {
  leaseId: string;
  seq: number;
  waitMs: number;
}

/**
 * `takeSeats` for this caller and, in the same round trip, for the callers of the process waiting
 * behind it (`moreLeaseIds`, in their order; rate_gate_acquire_many): the grants they get stop at
 * the first one refused. The caller's own answer is `grant`. With nobody behind, `takeSeats`.
 */
export async function takeSeatsWithMore(
  db: Executor,
  req: SeatRequest,
  moreLeaseIds: readonly string[],
  releasing: readonly HeldSeat[] = [],
): Promise<{ grant: SeatGrant; more: LeasedGrant[] }> {
  if (moreLeaseIds.length === 0) return { grant: await takeSeats(db, req, releasing), more: [] };
  const { rows } = await sql<{
    lease_id: string;
    granted: boolean;
    seq: number | null;
    wait_ms: number | null;
    retry_in_ms: number | null;
  }>`
    SELECT lease_id, granted, seq, wait_ms, retry_in_ms
    FROM rate_gate_acquire_many(${releasing.map((r) => r.seq)}::bigint[], ${releasing.map((r) => r.leaseId)}::uuid[],
                                ${req.key}::text, ${req.requests}::int, ${req.windowMs}::float8, ${req.spacingMs}::float8,
                                ${req.concurrency}::int, ${[req.leaseId, ...moreLeaseIds]}::uuid[], ${req.leaseMs}::float8)
  `.execute(db);
  const [own, ...others] = rows;
  const more = others
    .filter((r) => r.granted)
    .map((r) => ({ leaseId: r.lease_id, seq: Number(r.seq), waitMs: r.wait_ms ?? 0 }));
  return { grant: grantOf(own), more };
}

/**
 * Reserves a run of up to `count` consecutive requests of an account without a concurrency limit
 * as one lease (rate_gate_acquire_range, 0031), after giving back `releasing` in the same round
 * trip: for a process keeping grants ahead where a slot is far shorter than a round trip, one row
 * per round trip whatever the run's length. The run is released once, by its first `seq`.
 */
export async function takeRange(
  db: Executor,
  req: SeatRequest,
  count: number,
  releasing: readonly HeldSeat[] = [],
): Promise<SeatGrant> {
  const { rows } = await sql<{
    granted: boolean;
    seq: number | null;
    seqs: number | null;
    wait_ms: number | null;
    retry_in_ms: number | null;
  }>`
    SELECT granted, seq, seqs, wait_ms, retry_in_ms
    FROM rate_gate_acquire_range(${releasing.map((r) => r.seq)}::bigint[], ${releasing.map((r) => r.leaseId)}::uuid[],
                                 ${req.key}::text, ${req.requests}::int, ${req.windowMs}::float8, ${req.spacingMs}::float8,
                                 ${req.leaseId}::uuid, ${req.leaseMs}::float8, ${count}::int)
  `.execute(db);
  const grant = grantOf(rows[0]);
  return grant.granted ? { ...grant, seqs: rows[0]?.seqs ?? 1 } : grant;
}

/**
 * Gives the leases back where they are still ours (one given up on may have been taken as
 * released), and keeps each request `seq + requests` at least `windowMs` from now.
 */
export async function releaseSeats(
  db: Executor,
  limit: { key: string; requests: number; windowMs: number; spacingMs: number },
  seats: readonly HeldSeat[],
): Promise<void> {
  await sql`
    SELECT rate_gate_release(${limit.key}::text, r.seq, r.lease_id, ${limit.requests}::int,
                             ${limit.windowMs}::float8, ${limit.spacingMs}::float8)
    FROM unnest(${seats.map((s) => s.seq)}::bigint[], ${seats.map((s) => s.leaseId)}::uuid[]) AS r(seq, lease_id)
  `.execute(db);
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
