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
 * caller asked: the next grant, reserved while the caller before it waited for its slot or made its
 * call, so that a worker calling an account call after call finds its grant ready and only waits for
 * its slot (for a fast limit, a run of them as one lease: `takeRange`); and those reserved, with a
 * caller's own, for the callers of the process waiting behind it. Taken in the order they were
 * reserved, each at its own slot (a run's are a spacing apart). What nobody takes within a second
 * (or two spacings) of its slot is given back as never sent.
 *
 * A lease is given back once, when every grant of it is: released by the caller that took it
 * (`finish`), or given back untaken. One none of whose grants was sent keeps no window after it
 * (rate_gate_release with a zero window).
 */
export function reservedAhead(
  releases: ReturnType<typeof pendingReleases>,
  leases: ReturnType<typeof heldLeases>,
) {
  type Grant = { seq: number; leaseId: string; waitMs: number; seqs?: number };
  type Lease = {
    request: SeatRequest;
    seat: HeldSeat;
    seqs: number;
    /** Grants handed to callers so far (the next one is seat.seq + taken). */
    taken: number;
    /** Grants neither released by their caller nor given back. */
    open: number;
    /** A caller took one of its grants: its release keeps the window (else a zero window). */
    sent: boolean;
    readyAt: number;
    timer: NodeJS.Timeout;
  };
  /** Per key, the leases with grants left to take, oldest first. */
  const kept = new Map<string, Lease[]>();
  /** Every lease not yet given back, by lease id. */
  const unreleased = new Map<string, Lease>();
  const reserving = new Set<string>();
  const left = (lease: Lease) => lease.seqs - lease.taken;
  /** The lease, no longer offered to callers (its timer stopped). */
  const remove = (lease: Lease) => {
    const { key } = lease.request;
    const rest = (kept.get(key) ?? []).filter((l) => l !== lease);
    if (rest.length > 0) kept.set(key, rest);
    else kept.delete(key);
    clearTimeout(lease.timer);
  };
  const giveBackIfDone = (lease: Lease) => {
    if (lease.open > 0) return;
    unreleased.delete(lease.seat.leaseId);
    leases.delete(lease.seat.leaseId);
    if (lease.sent) releases.add(lease.request, lease.seat);
    else releases.send({ ...lease.request, windowMs: 0 }, [lease.seat]);
  };
  /** Its grants nobody took, given back. */
  const forget = (lease: Lease) => {
    remove(lease);
    lease.open -= left(lease);
    lease.taken = lease.seqs;
    giveBackIfDone(lease);
  };
  const add = (request: SeatRequest, grant: Grant) => {
    leases.add(grant.leaseId, request.key);
    const seqs = grant.seqs ?? 1;
    const unusedMs = grant.waitMs + (seqs - 1) * request.spacingMs + unusedMsOf(request);
    const lease: Lease = {
      request,
      seat: { seq: grant.seq, leaseId: grant.leaseId },
      seqs,
      taken: 0,
      open: seqs,
      sent: false,
      readyAt: performance.now() + grant.waitMs,
      timer: setTimeout(() => forget(lease), unusedMs),
    };
    lease.timer.unref();
    unreleased.set(grant.leaseId, lease);
    kept.set(request.key, [...(kept.get(request.key) ?? []), lease]);
  };
  const remaining = (key: string) => (kept.get(key) ?? []).reduce((n, lease) => n + left(lease), 0);
  return {
    /**
     * How many grants to reserve ahead for this request's key now: what `depth` lacks of those
     * kept once they are down to half of it, for a limit that gains by it and when none is on its
     * way (0: nothing to do). Those returned are on their way.
     */
    startFor(request: SeatRequest, depth = 1): number {
      const { key } = request;
      const have = remaining(key);
      if (!reservesAhead(request) || reserving.has(key) || have * 2 > depth) return 0;
      reserving.add(key);
      return depth - have;
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
      const lease = kept.get(request.key)?.[0];
      if (!lease) return undefined;
      const { requests, windowMs, spacingMs } = lease.request;
      if (requests !== request.requests || windowMs !== request.windowMs || spacingMs !== request.spacingMs) {
        for (const stale of kept.get(request.key) ?? []) forget(stale);
        return undefined;
      }
      const seq = lease.seat.seq + lease.taken;
      const waitMs = Math.max(0, lease.readyAt + lease.taken * spacingMs - performance.now());
      lease.taken += 1;
      if (left(lease) === 0) remove(lease);
      return { seq, leaseId: lease.seat.leaseId, waitMs };
    },
    /**
     * A taken grant's call is over (or was given up): false when the lease is not one of these (the
     * caller gives its own back). The lease goes back with its last grant.
     */
    finish(leaseId: string): boolean {
      const lease = unreleased.get(leaseId);
      if (!lease) return false;
      lease.open -= 1;
      lease.sent = true;
      giveBackIfDone(lease);
      return true;
    },
    forgetAll() {
      for (const leasesOfKey of [...kept.values()]) for (const lease of leasesOfKey) forget(lease);
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
