import type { AccountLimit, RateGate, Release } from './rate-gate.ts';

/**
 * A `RateGate` for one process (tests, single-process CLI tools): a sliding-window log per key plus
 * the `concurrency` limit, with strictly FIFO waiting so that a burst cannot starve an earlier caller.
 *
 * A request keeps its window slot from the moment it is granted until `windowMs` after it is
 * *released*, not after it is granted. The remote counts requests by the time they reach it, which is
 * somewhere between our grant and our release; a window measured from the grant can let request
 * n+limit arrive less than `windowMs` after request n (e.g. when request n spent 5 ms opening a
 * connection and request n+limit reused it), and Jasper answers that with a 429. Measured from the
 * release, the gap seen by the remote is never below `windowMs`, at the cost of one request latency
 * per window of throughput.
 */

interface Slot {
  /** `performance.now()` at release; `undefined` while the request is in flight. */
  releasedAt: number | undefined;
}

interface Waiter {
  limit: AccountLimit;
  grant: (release: Release) => void;
}

interface KeyState {
  slots: Slot[];
  holders: number;
  queue: Waiter[];
  timer: NodeJS.Timeout | undefined;
}

export function createMemoryRateGate(): RateGate {
  // Keys are external accounts (a handful), each holding at most `requests` slots: never pruned.
  const keys = new Map<string, KeyState>();

  const pump = (state: KeyState): void => {
    if (state.timer !== undefined) {
      clearTimeout(state.timer);
      state.timer = undefined;
    }
    for (;;) {
      const head = state.queue[0];
      if (head === undefined) return;
      const { requests, windowMs, concurrency } = head.limit;
      if (concurrency !== undefined && state.holders >= concurrency) return; // a release pumps again

      const now = performance.now();
      state.slots = state.slots.filter((s) => s.releasedAt === undefined || s.releasedAt + windowMs > now);
      if (state.slots.length >= requests) {
        const expiries = state.slots.flatMap((s) =>
          s.releasedAt === undefined ? [] : [s.releasedAt + windowMs],
        );
        // Every slot still in flight: the next release pumps again.
        if (expiries.length === 0) return;
        // Timers may fire a fraction of a millisecond early; the loop re-checks and re-arms.
        const delay = Math.max(1, Math.ceil(Math.min(...expiries) - now));
        state.timer = setTimeout(() => pump(state), delay);
        return;
      }

      state.queue.shift();
      const slot: Slot = { releasedAt: undefined };
      state.slots.push(slot);
      state.holders += 1;
      head.grant(releaseFor(state, slot));
    }
  };

  const releaseFor = (state: KeyState, slot: Slot): Release => {
    let released = false;
    return () => {
      // Idempotent: a second call must not free a concurrency slot someone else now holds.
      if (released) return Promise.resolve();
      released = true;
      slot.releasedAt = performance.now();
      state.holders -= 1;
      pump(state);
      return Promise.resolve();
    };
  };

  return {
    acquire(limit: AccountLimit): Promise<Release> {
      const unusable = describeUnusable(limit);
      if (unusable !== undefined) return Promise.reject(new RangeError(unusable));
      const state = keys.get(limit.key) ?? { slots: [], holders: 0, queue: [], timer: undefined };
      keys.set(limit.key, state);
      return new Promise<Release>((resolve) => {
        state.queue.push({ limit, grant: resolve });
        pump(state);
      });
    },
  };
}

/** A limit that can never grant would make callers wait forever; fail loudly instead. */
function describeUnusable(limit: AccountLimit): string | undefined {
  const positiveInteger = (n: number | undefined) => n === undefined || (Number.isInteger(n) && n > 0);
  if (positiveInteger(limit.requests) && limit.windowMs > 0 && positiveInteger(limit.concurrency))
    return undefined;
  const concurrency = limit.concurrency ?? 'unlimited';
  return `rate gate: unusable limit for ${limit.key}: ${limit.requests} per ${limit.windowMs} ms, concurrency ${concurrency}`;
}
