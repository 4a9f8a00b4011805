import {
  releaseSeats,
  renewLeases,
  type HeldSeat,
  type SeatRequest,
} from '../db/repositories/rate-limit.repository.ts';
import type { PostgresRateGateDeps } from './postgres-rate-gate.ts';

/**
 * What a process holds from the shared rate gate (postgres-rate-gate.ts): leases in flight, releases
 * not yet sent, grants reserved ahead.
 */

/**
 * This process's leases in flight (lease id → account key), renewed together on a timer that runs
 * only while there are some, and never keeps the process alive.
 */
export function heldLeases(deps: PostgresRateGateDeps, leaseMs: number, renewEveryMs: number) {
  const held = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  let renewing = false;
  const renew = async () => {
    if (renewing || held.size === 0) return;
    renewing = true;
    try {
      await renewLeases(deps.db, [...held.keys()], leaseMs);
    } catch (error) {
      deps.onReleaseError?.(error, [...new Set(held.values())].join(','));
    } finally {
      renewing = false;
    }
  };
  return {
    add(leaseId: string, key: string) {
      held.set(leaseId, key);
      if (timer === undefined && renewEveryMs > 0) {
        timer = setInterval(() => void renew(), renewEveryMs);
        timer.unref();
      }
    },
    delete(leaseId: string) {
      held.delete(leaseId);
      if (held.size === 0 && timer !== undefined) {
        clearInterval(timer);
        timer = undefined;
      }
    },
  };
}

/**
 * This process's finished requests not yet given back, per account key. Each goes with the key's
 * next reservation if it is sent before the next turn of the event loop (`take`), else on its own
 * then, together with the key's others (`send`).
 */
export function pendingReleases(deps: PostgresRateGateDeps) {
  type Limit = Parameters<typeof releaseSeats>[1];
  const unsent = new Map<string, { limit: Limit; seats: HeldSeat[] }>();
  const inFlight = new Set<Promise<void>>();
  const send = (limit: Limit, seats: readonly HeldSeat[]) => {
    if (seats.length === 0) return;
    const sent = releaseSeats(deps.db, limit, seats)
      .catch((error: unknown) => deps.onReleaseError?.(error, limit.key))
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  };
  const flush = (key: string) => {
    const entry = unsent.get(key);
    unsent.delete(key);
    if (entry) send(entry.limit, entry.seats);
  };
  return {
    add(limit: Limit, seat: HeldSeat) {
      const entry = unsent.get(limit.key);
      if (entry) entry.seats.push(seat);
      else {
        unsent.set(limit.key, { limit, seats: [seat] });
        setImmediate(() => flush(limit.key));
      }
    },
    /** The key's unsent releases, now the caller's to send (with its reservation). */
    take(key: string): HeldSeat[] {
      const entry = unsent.get(key);
      unsent.delete(key);
      return entry?.seats ?? [];
    },
    send,
    async settle() {
      for (const key of [...unsent.keys()]) flush(key);
      await Promise.all(inFlight);
    },
  };
}

/** How long after its slot a grant reserved ahead is kept for a caller, at least (then given back). */
const AHEAD_UNUSED_MS = 1_000;
/**
 * A grant reserved ahead counts as in flight until it is taken or given back, and request n +
 * `requests` is not granted while request n is in flight: so reserving ahead is only for limits
 * whose window is long beside that time (a 30th of it, about the 3 % the utilization leaves), like
 * Rev.io's minute. With 2 requests per 400 ms it would hold one of the two for a second.
 */
const AHEAD_WINDOW_SHARE = 30;
const unusedMsOf = (request: SeatRequest) => Math.max(AHEAD_UNUSED_MS, 2 * request.spacingMs);

/**
 * Whether a limit gains by grants reserved before their caller asks: no concurrency limit (a grant
 * held unused keeps no one else's call seat) and a long window (see AHEAD_WINDOW_SHARE).
 */
export function reservesAhead(request: SeatRequest): boolean {
  return request.concurrency === 0 && unusedMsOf(request) * AHEAD_WINDOW_SHARE <= request.windowMs;
}

/**
 * Per account key without a concurrency limit and with a long window, grants reserved before their
 * caller asked: the next grant (for a fast limit, one per caller the process lately had), reserved
 * while the caller before it waited for its slot or made its call, so that a worker calling an account call after call finds its grant ready and only waits
 * for its slot; and those reserved, with a caller's own, for the callers of the process waiting
 * behind it. Taken in the order they were reserved. One nobody takes within a second (or two
 * spacings) of its slot is given back as never sent: no window is kept after it.
 */
export function reservedAhead(
  releases: ReturnType<typeof pendingReleases>,
  leases: ReturnType<typeof heldLeases>,
) {
  type Grant = { seq: number; leaseId: string; waitMs: number };
  type Entry = { request: SeatRequest; seat: HeldSeat; readyAt: number; timer: NodeJS.Timeout };
  const kept = new Map<string, Entry[]>();
  const reserving = new Set<string>();
  /** The entry, no longer kept (its timer stopped). */
  const remove = (entry: Entry) => {
    const { key } = entry.request;
    const rest = (kept.get(key) ?? []).filter((e) => e !== entry);
    if (rest.length > 0) kept.set(key, rest);
    else kept.delete(key);
    clearTimeout(entry.timer);
  };
  const forget = (entry: Entry) => {
    remove(entry);
    leases.delete(entry.seat.leaseId);
    // Never sent: its release keeps no slot a window after it (rate_gate_release with a zero window).
    releases.send({ ...entry.request, windowMs: 0 }, [entry.seat]);
  };
  const add = (request: SeatRequest, grant: Grant) => {
    leases.add(grant.leaseId, request.key);
    const unusedMs = grant.waitMs + unusedMsOf(request);
    const entry: Entry = {
      request,
      seat: { seq: grant.seq, leaseId: grant.leaseId },
      readyAt: performance.now() + grant.waitMs,
      timer: setTimeout(() => forget(entry), unusedMs),
    };
    entry.timer.unref();
    kept.set(request.key, [...(kept.get(request.key) ?? []), entry]);
  };
  return {
    /**
     * How many grants to reserve ahead for this request's key now: as many as `depth` lacks of
     * those kept, for a limit that gains by it and when none is on its way (0: nothing to do). Those
     * returned are on their way.
     */
    startFor(request: SeatRequest, depth = 1): number {
      const { key } = request;
      const missing = depth - (kept.get(key)?.length ?? 0);
      if (!reservesAhead(request) || reserving.has(key) || missing <= 0) return 0;
      reserving.add(key);
      return missing;
    },
    /** The reservation made ahead, when it answers (undefined: not granted, or failed). */
    keep(request: SeatRequest, grant: Grant | undefined) {
      reserving.delete(request.key);
      if (grant) add(request, grant);
    },
    /** Grants reserved for the callers waiting behind one (each with the lease it was made on). */
    keepFor(request: SeatRequest, grants: readonly Grant[]) {
      for (const grant of grants) add({ ...request, leaseId: grant.leaseId }, grant);
    },
    /** The oldest grant kept for this request's key, if it was reserved for the same limit. */
    take(request: SeatRequest): Grant | undefined {
      const entry = kept.get(request.key)?.[0];
      if (!entry) return undefined;
      const { requests, windowMs, spacingMs } = entry.request;
      if (requests !== request.requests || windowMs !== request.windowMs || spacingMs !== request.spacingMs) {
        for (const stale of kept.get(request.key) ?? []) forget(stale);
        return undefined;
      }
      remove(entry);
      return { ...entry.seat, waitMs: Math.max(0, entry.readyAt - performance.now()) };
    },
    forgetAll() {
      for (const entries of [...kept.values()]) for (const entry of entries) forget(entry);
    },
  };
}

/** How long the most callers a process had at once for a key counts for keeping grants ahead. */
const PEAK_MS = 1_000;

/**
 * Per account key, this process's callers between their acquire and their release, and the most
 * there were at once within the last PEAK_MS (a worker's callers come and go between their calls).
 */
export function recentCallers() {
  const active = new Map<string, number>();
  const peaks = new Map<string, { callers: number; at: number }>();
  return {
    enter(key: string) {
      const now = (active.get(key) ?? 0) + 1;
      active.set(key, now);
      const peak = peaks.get(key);
      if (!peak || peak.callers <= now || performance.now() - peak.at > PEAK_MS) {
        peaks.set(key, { callers: now, at: performance.now() });
      }
    },
    leave(key: string) {
      const n = (active.get(key) ?? 1) - 1;
      if (n > 0) active.set(key, n);
      else active.delete(key);
    },
    /** The most callers at once lately (at least 1). */
    of(key: string): number {
      const peak = peaks.get(key);
      return peak && performance.now() - peak.at <= PEAK_MS
        ? peak.callers
        : Math.max(1, active.get(key) ?? 1);
    },
  };
}
