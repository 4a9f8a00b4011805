import { randomUUID } from 'node:crypto';
import type { Database } from '../db/database.ts';
import { RetryableError } from '../errors.ts';
import { takeRange, takeSeatsWithMore, type SeatRequest } from '../db/repositories/rate-limit.repository.ts';
import {
  heldLeases,
  pendingReleases,
  recentCallers,
  reservedAhead,
  reservesAhead,
} from './rate-gate-holdings.ts';
import type { AccountLimit, RateGate, Release } from './rate-gate.ts';
import { abortable, sleep, sleepFor } from './rate-gate-waits.ts';

/**
 * The production `RateGate`: shared through PostgreSQL, so every worker process on every machine
 * together stays within each account's limit. The state of an account is O(1) whatever its limit
 * (one row, plus a lease per request in flight); the rules are in rate_gate_acquire and
 * rate_gate_release (migrations/0014_rate_gate_gcra.sql). In short:
 *
 * - Spacing (GCRA, no burst): sends are spaced `windowMs / (requests × utilization)` apart in the
 *   database's clock, FIFO across processes.
 * - Window (exact): request n + `requests` is not granted while request n is in flight, and its slot
 *   is at least `windowMs` after n's release. The remote counts a request when it arrives, somewhere
 *   between its slot and its release, so whatever the network does (a cold TLS handshake, a
 *   retransmitted SYN, a GC pause) it never sees more than `requests` in a window. This costs nothing
 *   while requests take less than the utilization margin (3 % of the window at the default 0.97: 31 ms
 *   of a 1 s window, 1.9 s of Rev.io's minute), and leaves room for the remote's clock and counting to
 *   differ from ours.
 * - Concurrency: a lease per call in flight, taken with the slot (a slot reserved while waiting for a
 *   call seat would be sent late). A waiting caller sleeps until the holder's slot (it cannot release
 *   before), then polls (10 → 50 ms, jittered). In each process only the oldest waiter for a key
 *   asks, so one process's callers are served in order; across processes a freed seat goes to
 *   whichever poll comes first, fair in expectation. A process does not wake its own waiters on
 *   release: that would let it keep the seat for ever while others starve.
 * - One round trip per request, plus polls while waiting: a release does not keep its caller
 *   waiting. It goes with this process's next reservation for the same account when that is sent
 *   at once (a worker calling an account call after call: the seat it frees is free for that
 *   reservation), else on its own at the next turn of the event loop. Releasing late errs on the
 *   safe side only: a seat is held, and a slot kept a window after its release, a little longer.
 *   Before, the release was a round trip of its own that the caller waited for, which was half the
 *   gate's cost per call (B6). `settle()` sends what is left (shutdown). A database failure while
 *   acquiring is a `RetryableError` (system `rate-gate`), as for the clients' own transient failures.
 * - Reserved ahead: for a limit without a concurrency limit and with a long window (Rev.io's
 *   minute), the next grant is reserved while the caller waits for its slot or makes its call, so
 *   the next caller only waits for its slot; and a caller whose turn comes with others of the
 *   process waiting behind it asks for theirs too, in the same round trip (rate_gate_acquire_many:
 *   a chunk's callers starting together each waited for every reservation before their own). One
 *   nobody takes soon is given back as never sent (`reservedAhead` in rate-gate-holdings.ts).
 *   Where a slot is shorter than a round trip (FAST_SPACING_MS: 1,000,000 a minute is 0.06 ms), a
 *   run of grants is kept ahead as ONE lease (rate_gate_acquire_range, 0031: one row whatever its
 *   length), enough for RUN_MS of slots, topped up when half of it is taken; a caller takes the
 *   next grant of it, at its own slot, without waiting for its turn when no caller of the process is
 *   waiting. Before, one grant per recent caller was kept, each its own lease: a caller calling
 *   again the moment it had its grant waited a round trip per call (B6 p99 1.3–3.0 ms).
 * - Leases are kept alive by their holder: every `renewEveryMs` a process moves the leases of its
 *   calls in flight on to `leaseMs` from now (one statement for all of them). A lease nobody renews
 *   is taken as released `leaseMs` after its last renewal, so a killed worker's call seats are free
 *   again within seconds (15 s by default) while a live holder's slow call keeps its seat however
 *   long it runs. Before, a lease ran for a fixed 60 s after its slot: every worker killed during
 *   Jasper PUTs took its seats with it for a minute, and with every seat gone Jasper traffic stopped
 *   (the killed-workers resilience test measured 11 of 24 seats held by the dead 3 s after a kill).
 */

export interface PostgresRateGateDeps {
  db: Database;
  /** Share of each limit used, in (0, 1]; default 0.97. */
  utilization?: number;
  /** How long after its last renewal a lease's holder is presumed dead; default 15,000 ms. */
  leaseMs?: number;
  /**
   * How often this process renews its leases in flight; default a third of `leaseMs`. 0 never
   * renews: a holder that stops renewing is what a dead process looks like (tests use it).
   */
  renewEveryMs?: number;
  /**
   * Told when a release or a renewal could not be written (lost connection): the call itself has
   * happened, so its caller is not failed for it, and the seats free themselves when the lease runs
   * out.
   */
  onReleaseError?: (error: unknown, key: string) => void;
}

export interface AcquireOptions {
  /** Gives up waiting; the seats are released (a reserved slot is simply left unused). */
  signal?: AbortSignal;
  /** Told the intended wait for the slot, before it is waited out (benchmarks measure around it). */
  onGrant?: (waitMs: number) => void;
}

export interface PostgresRateGate extends RateGate {
  acquire(limit: AccountLimit, options?: AcquireOptions): Promise<Release>;
  /** Sends the releases not sent yet and waits for those in flight (before the database closes). */
  settle(): Promise<void>;
}

const DEFAULT_UTILIZATION = 0.97;
const DEFAULT_LEASE_MS = 15_000;
const POLL_MIN_MS = 10;
const POLL_MAX_MS = 50;
/** Grants asked at most for the callers waiting behind one, in its round trip. */
const MAX_FOR_WAITERS = 32;
/**
 * Below this spacing a round trip spans several slots, so a run of grants is kept ahead as one lease
 * (a slot kept and not taken costs a few hundredths of a ms): enough for RUN_MS of slots, at least
 * one per caller the process lately had, at most MAX_RUN. Topped up once half of it is taken, so
 * a round trip of up to RUN_MS / 2 comes back before a caller calling back to back runs out.
 */
const FAST_SPACING_MS = 5;
const RUN_MS = 10;
const MAX_RUN = 256;

export function createPostgresRateGate(deps: PostgresRateGateDeps): PostgresRateGate {
  const { db } = deps;
  const utilization = deps.utilization ?? DEFAULT_UTILIZATION;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  if (!(utilization > 0 && utilization <= 1)) {
    throw new RangeError(`rate gate: utilization must be in (0, 1], got ${utilization}`);
  }
  if (!(leaseMs > 0)) throw new RangeError(`rate gate: leaseMs must be positive, got ${leaseMs}`);
  const renewEveryMs = deps.renewEveryMs ?? leaseMs / 3;
  if (!(renewEveryMs >= 0 && renewEveryMs < leaseMs)) {
    throw new RangeError(`rate gate: renewEveryMs must be in [0, leaseMs), got ${renewEveryMs}`);
  }
  const leases = heldLeases(deps, leaseMs, renewEveryMs);
  const releases = pendingReleases(deps);

  // Per key, the tail of this process's waiters: each starts asking when everyone before it has its
  // seats (or gave up), so a process sends one reservation at a time per key, oldest caller first.
  const turns = new Map<string, Promise<void>>();
  // Per key, this process's callers that have asked and not yet been answered (reservations made
  // ahead not counted): when one's turn comes, the others are those waiting behind it.
  const waiting = new Map<string, number>();
  const wait = (key: string, by: 1 | -1) => {
    const n = (waiting.get(key) ?? 0) + by;
    if (n > 0) waiting.set(key, n);
    else waiting.delete(key);
  };

  const ahead = reservedAhead(releases, leases);
  const callers = recentCallers();

  /**
   * Waits for this caller's turn, then takes the grant reserved ahead for the key if there is one,
   * else reserves (polling while not granted). `once`: one reservation, answered granted or not
   * (reserving ahead: it never waits for a seat), of a run of `once.run` grants as one lease.
   */
  const reserveInTurn = async (
    request: SeatRequest,
    signal: AbortSignal | undefined,
    once?: { run: number },
  ): Promise<{ seq: number; leaseId: string; waitMs: number; seqs?: number } | undefined> => {
    const previous = turns.get(request.key) ?? Promise.resolve();
    let done = () => {};
    const finished = new Promise<void>((resolve) => (done = resolve));
    // The next caller's turn comes when both we and everyone before us are done, even if we gave up
    // (aborted) while still waiting for our turn.
    const mine = Promise.all([previous, finished]).then(() => undefined);
    turns.set(request.key, mine);
    if (!once) wait(request.key, 1);
    try {
      await abortable(previous, signal);
      if (!once) {
        const early = ahead.take(request);
        if (early) return early;
      }
      let pollMs = POLL_MIN_MS;
      for (;;) {
        const releasing = releases.take(request.key);
        // The callers waiting behind this one get theirs in the same round trip (kept for them as
        // reserved ahead), where a grant held a moment unused costs nobody anything.
        const behind = once || !reservesAhead(request) ? 0 : (waiting.get(request.key) ?? 1) - 1;
        const moreLeaseIds = Array.from({ length: Math.min(behind, MAX_FOR_WAITERS) }, () => randomUUID());
        const { grant, more } = await (
          once && once.run > 1
            ? takeRange(db, request, once.run, releasing).then((run) => ({ grant: run, more: [] }))
            : takeSeatsWithMore(db, request, moreLeaseIds, releasing)
        ).catch((error: unknown) => {
          releases.send(request, releasing);
          return unavailable(request.key)(error);
        });
        ahead.keepFor(request, more);
        if (grant.granted) return { ...grant, leaseId: request.leaseId };
        if (once) return undefined;
        // Capped: a holder configured with a longer leaseMs than ours would look due later than it is.
        const holderSlotInMs = Math.min(grant.holderSlotInMs, request.windowMs);
        if (holderSlotInMs > 0) pollMs = POLL_MIN_MS;
        await sleep(holderSlotInMs + pollMs * (0.5 + Math.random()), signal);
        pollMs = Math.min(POLL_MAX_MS, pollMs * 2);
      }
    } finally {
      if (!once) wait(request.key, -1);
      done();
      if (turns.get(request.key) === mine) turns.delete(request.key);
    }
  };

  /**
   * Reserves the key's next grants in the background (one, or for a fast limit a run of them),
   * unless enough are kept or some are on their way.
   */
  const reserveAhead = (request: SeatRequest) => {
    const depth =
      request.spacingMs < FAST_SPACING_MS
        ? Math.min(MAX_RUN, Math.max(callers.of(request.key), Math.ceil(RUN_MS / request.spacingMs)))
        : 1;
    const run = ahead.startFor(request, depth);
    if (run === 0) return;
    const next = { ...request, leaseId: randomUUID() };
    reserveInTurn(next, undefined, { run }).then(
      (grant) => {
        ahead.keep(next, grant);
        // Callers took what was kept while this was on its way: kept up again (if it was granted).
        if (grant) reserveAhead(request);
      },
      // Nothing is lost: the next caller reserves for itself (and meets the failure then).
      () => ahead.keep(next, undefined),
    );
  };

  return {
    async acquire(limit: AccountLimit, options: AcquireOptions = {}): Promise<Release> {
      const { signal } = options;
      const unusable = describeUnusable(limit);
      if (unusable !== undefined) throw new RangeError(unusable);
      signal?.throwIfAborted();

      const { key, requests, windowMs } = limit;
      const spacingMs = windowMs / (requests * utilization);
      const request = {
        key,
        requests,
        windowMs,
        concurrency: limit.concurrency ?? 0,
        leaseId: randomUUID(),
        leaseMs,
        spacingMs,
      };
      callers.enter(key);
      const kept = waiting.has(key) ? undefined : ahead.take(request);
      const { seq, leaseId, waitMs } =
        kept ??
        (await reserveInTurn(request, signal).catch((error: unknown) => {
          callers.leave(key);
          throw error;
        }))!;
      leases.add(leaseId, key);
      options.onGrant?.(waitMs);
      reserveAhead(request);

      let released = false;
      const release: Release = () => {
        // Idempotent, never throws (see `onReleaseError`), and does not wait for the database.
        if (!released) {
          released = true;
          callers.leave(key);
          // A grant kept ahead goes back with its lease (the last of a run's grants gives it back).
          if (!ahead.finish(leaseId)) {
            leases.delete(leaseId);
            releases.add(request, { seq, leaseId });
          }
        }
        return Promise.resolve();
      };
      try {
        await sleepFor(waitMs, signal);
      } catch (error) {
        await release();
        throw error;
      }
      return release;
    },
    settle: async () => {
      ahead.forgetAll();
      await releases.settle();
    },
  };
}

/** A lost database is transient for the caller, like a lost network: its job retries the call later. */
function unavailable(key: string) {
  return (cause: unknown): never => {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new RetryableError(`rate gate: cannot reserve a request for ${key}: ${reason}`, {
      system: 'rate-gate',
      cause,
    });
  };
}

/** A limit that can never grant would make callers wait forever; fail loudly instead. */
function describeUnusable(limit: AccountLimit): string | undefined {
  const positiveInteger = (n: number | undefined) => n === undefined || (Number.isInteger(n) && n > 0);
  if (positiveInteger(limit.requests) && limit.windowMs > 0 && positiveInteger(limit.concurrency)) {
    return undefined;
  }
  const concurrency = limit.concurrency ?? 'unlimited';
  return `rate gate: unusable limit for ${limit.key}: ${limit.requests} per ${limit.windowMs} ms, concurrency ${concurrency}`;
}
