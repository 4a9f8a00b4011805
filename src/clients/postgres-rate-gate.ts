import { randomUUID } from 'node:crypto';
import type { Database } from '../db/database.ts';
import { createSeats, releaseSeat, reserveSlot, takeSeat } from '../db/repositories/rate-limit.repository.ts';
import type { AccountLimit, RateGate, Release } from './rate-gate.ts';

/**
 * The production `RateGate`: shared through PostgreSQL, so every worker process on every machine
 * together stays within each account's limit (statements and their reasoning in
 * rate-limit.repository.ts).
 *
 * - Rate: requests are spaced `windowMs / (requests × utilization)` apart, in the database's clock.
 *   The margin (3 % by default) is the arrival jitter the remote may see without counting one request
 *   too many: windowMs × (1/utilization − 1), i.e. 1.86 s for Rev.io's 500 per minute and 31 ms for
 *   Jasper's 5 per second (for Jasper the latest releases are also taken into account, see
 *   `takeSeat`). One round trip per request, FIFO across processes.
 * - Concurrency: a seat (lease) per call in flight, taken before the slot and freed by `release`.
 *   A waiting caller polls (10 → 50 ms, jittered); in each process only the oldest waiter for a key
 *   polls, so waiters of one process are served in order. Across processes a freed seat goes to
 *   whichever poll comes first, which spreads seats fairly in expectation; a process does not wake
 *   its own waiters on release, because that would let it keep the seat forever.
 * - A lease expires `leaseMs` after it was taken, so a crashed holder blocks its account for at most
 *   that long. It must exceed the HTTP timeout plus the wait for the slot (≤ windowMs + concurrency ×
 *   spacing); the 60 s default is far above both.
 */

export interface PostgresRateGateDeps {
  db: Database;
  /** Share of each limit actually used, in (0, 1]; default 0.97. */
  utilization?: number;
  /** Lifetime of a concurrency lease; default 60,000 ms. */
  leaseMs?: number;
  /**
   * Told when a release could not be written (lost connection): the call has already happened, so
   * the caller is not failed for it, and the seat frees itself when its lease expires.
   */
  onReleaseError?: (error: unknown, key: string) => void;
}

export interface AcquireOptions {
  /** Gives up waiting; a slot already reserved is then simply left unused. */
  signal?: AbortSignal;
}

export interface PostgresRateGate extends RateGate {
  acquire(limit: AccountLimit, options?: AcquireOptions): Promise<Release>;
}

const DEFAULT_UTILIZATION = 0.97;
const DEFAULT_LEASE_MS = 60_000;
const POLL_MIN_MS = 10;
const POLL_MAX_MS = 50;

const noRelease: Release = () => Promise.resolve();

export function createPostgresRateGate(deps: PostgresRateGateDeps): PostgresRateGate {
  const { db } = deps;
  const utilization = deps.utilization ?? DEFAULT_UTILIZATION;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  if (!(utilization > 0 && utilization <= 1)) {
    throw new RangeError(`rate gate: utilization must be in (0, 1], got ${utilization}`);
  }
  if (!(leaseMs > 0)) throw new RangeError(`rate gate: leaseMs must be positive, got ${leaseMs}`);

  // Per key, the tail of this process's seat waiters: each starts polling when the previous one has
  // a seat (or gave up), so one process sends one poll at a time per key, oldest waiter first.
  const seatTurns = new Map<string, Promise<void>>();

  const takeSeatInTurn = async (
    limit: AccountLimit & { concurrency: number },
    spacingMs: number,
    signal?: AbortSignal,
  ) => {
    const previous = seatTurns.get(limit.key) ?? Promise.resolve();
    let done = () => {};
    const finished = new Promise<void>((resolve) => (done = resolve));
    // The next waiter's turn comes when both we and everyone before us are done, even if we gave up
    // (aborted) while still waiting for our own turn.
    const mine = Promise.all([previous, finished]).then(() => undefined);
    seatTurns.set(limit.key, mine);
    try {
      await abortable(previous, signal);
      const request = { ...limit, leaseId: randomUUID(), leaseMs, spacingMs };
      let pollMs = POLL_MIN_MS;
      for (;;) {
        const grant = await takeSeat(db, request);
        if (grant.seat !== undefined) return { ...grant, seat: grant.seat, leaseId: request.leaseId };
        if (grant.seats < limit.concurrency) {
          await createSeats(db, limit.key, limit.concurrency);
          continue;
        }
        await sleep(pollMs * (0.5 + Math.random()), signal);
        pollMs = Math.min(POLL_MAX_MS, pollMs * 2);
      }
    } finally {
      done();
      if (seatTurns.get(limit.key) === mine) seatTurns.delete(limit.key);
    }
  };

  return {
    async acquire(limit: AccountLimit, options: AcquireOptions = {}): Promise<Release> {
      const { signal } = options;
      const unusable = describeUnusable(limit);
      if (unusable !== undefined) throw new RangeError(unusable);
      signal?.throwIfAborted();
      const spacingMs = limit.windowMs / (limit.requests * utilization);

      if (limit.concurrency === undefined) {
        await sleepFor(await reserveSlot(db, limit.key, spacingMs), signal);
        return noRelease;
      }

      const grant = await takeSeatInTurn({ ...limit, concurrency: limit.concurrency }, spacingMs, signal);
      let released = false;
      const release: Release = async () => {
        // Idempotent, and never throws: see `onReleaseError`.
        if (released) return;
        released = true;
        const lease = { key: limit.key, seat: grant.seat, leaseId: grant.leaseId, requests: limit.requests };
        await releaseSeat(db, lease).catch((error: unknown) => deps.onReleaseError?.(error, limit.key));
      };
      try {
        await sleepFor(grant.waitMs, signal);
      } catch (error) {
        await release();
        throw error;
      }
      return release;
    },
  };
}

/**
 * Waits `ms` measured from now. Node may fire a timer early by however long the current event loop
 * turn has run (timers start from the loop's cached clock), and an early send is exactly what the
 * gate must prevent, so the wait is checked against `performance.now()` and resumed if short.
 */
async function sleepFor(ms: number, signal: AbortSignal | undefined): Promise<void> {
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) await sleep(Math.ceil(left), signal);
}

/** Rejects with the signal's reason, like `signal.throwIfAborted()`. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortable(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const abort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', abort, { once: true });
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
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
