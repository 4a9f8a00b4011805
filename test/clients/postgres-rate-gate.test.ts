import { fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { Kysely, PostgresDialect } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHttpAgent } from '../../src/clients/http-client.ts';
import { createJasperClient, type JasperCredentials } from '../../src/clients/jasper.client.ts';
import { createPostgresRateGate, type PostgresRateGate } from '../../src/clients/postgres-rate-gate.ts';
import { unlimitedGate, type AccountLimit, type RateGate } from '../../src/clients/rate-gate.ts';
import type { RevioCredentials } from '../../src/clients/revio.client.ts';
import { createDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import type { DB } from '../../src/db/schema.ts';
import { RetryableError } from '../../src/errors.ts';
import { buildJasperSimulator, type JasperSimState } from '../../simulators/jasper.simulator.ts';
import { buildRevioSimulator, DEMO_REVIO_ACCOUNT } from '../../simulators/revio.simulator.ts';
import type { FaultRule, RecordedRequest } from '../../simulators/sim-control.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { hammerRevio, type HammerJob, type HammerResult } from './fixtures/rate-gate-worker.ts';

// Two pools on one database stand for two worker processes; one test adds a real second process.
let database: TestDatabase;
let second: DatabaseHandle;
let worker: ReturnType<typeof forkWorker>;
const simulators: FastifyInstance[] = [];

beforeAll(async () => {
  worker = forkWorker();
  database = await createTestDatabase(6);
  second = createDatabase(database.url, 6, 'rate-gate-second');
});

afterAll(async () => {
  worker.stop();
  await Promise.all(simulators.map((app) => app.close()));
  await closeHttpAgent();
  await second.close();
  await database.drop();
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const pending = Symbol('pending');
const settledWithin = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, sleep(ms).then(() => pending)]);
/** The account's leases in the database: requests granted and not given back. */
const heldLeases = async (key: string) =>
  (
    await database.pool.query<{ held: number }>(
      'SELECT count(*)::int AS held FROM rate_gate_lease WHERE key = $1',
      [key],
    )
  ).rows[0]!.held;

/** Largest number of times falling in any half-open window [t, t + windowMs). */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let busiest = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while ((sorted[j] ?? 0) - (sorted[i] ?? 0) >= windowMs) i++;
    busiest = Math.max(busiest, j - i + 1);
  }
  return busiest;
}

/** A gate whose first grant reaches the remote `ms` late, as after a slow connection set-up. */
function arrivingLate(inner: RateGate, ms: number) {
  let granted = () => {};
  const grantedPromise = new Promise<void>((resolve) => (granted = resolve));
  let first = true;
  const gate: RateGate = {
    async acquire(limit) {
      const release = await inner.acquire(limit);
      if (first) {
        first = false;
        granted();
        await sleep(ms);
      }
      return release;
    },
  };
  return { gate, granted: grantedPromise };
}

async function listen(app: FastifyInstance): Promise<string> {
  simulators.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** A Rev.io simulator allowing `requests` per `windowMs`, and credentials whose gate key is `id`. */
async function startRevio(id: string, requests: number, windowMs: number, gateRequests = requests) {
  const root = await listen(buildRevioSimulator({ rateLimit: { requestsPerWindow: requests, windowMs } }));
  const creds: RevioCredentials = {
    id,
    baseUrl: `${root}/v1`,
    ...DEMO_REVIO_ACCOUNT,
    rateLimit: { requests: gateRequests, windowMs },
  };
  const received = async () => {
    const res = await fetch(`${root}/__sim/requests?path=/v1/`);
    return (await res.json()) as RecordedRequest[];
  };
  return { creds, received };
}

/**
 * The second worker process. Forked before the database exists so that loading TypeScript (about a
 * second) overlaps the setup; `start` hands it its job and resolves once it is connected.
 */
function forkWorker() {
  const script = fileURLToPath(new URL('./fixtures/rate-gate-worker.ts', import.meta.url));
  const child = fork(script, [], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: unknown[] = [];
  const waiters: (() => void)[] = [];
  child.on('message', (message) => {
    messages.push(message);
    waiters.shift()?.();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = async () => {
    if (messages.length === 0) {
      await Promise.race([
        new Promise<void>((resolve) => waiters.push(resolve)),
        exited.then(() => Promise.reject(new Error('rate-gate worker exited early'))),
      ]);
    }
    return messages.shift();
  };
  return {
    async start(job: HammerJob): Promise<void> {
      child.send(job);
      expect(await next()).toEqual({ ready: true });
    },
    async run(): Promise<HammerResult> {
      child.send('go');
      const result = (await next()) as HammerResult;
      await exited;
      return result;
    },
    stop(): void {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}

describe('createPostgresRateGate', () => {
  it('keeps two pools and a second process together within a Rev.io account limit', async () => {
    const { creds, received } = await startRevio('revio-shared', 20, 1000);
    await worker.start({ databaseUrl: database.url, creds, calls: 14, callers: 3 });
    const [inChild, onA, onB] = await Promise.all([
      worker.run(),
      hammerRevio(createPostgresRateGate({ db: database.db }), creds, 14, 3),
      hammerRevio(createPostgresRateGate({ db: second.db }), creds, 14, 3),
    ]);

    expect([inChild, onA, onB]).toEqual(Array.from({ length: 3 }, () => ({ ok: 14, failures: [] })));
    const requests = await received();
    expect(requests).toHaveLength(42);
    expect(requests.filter((r) => r.status !== 200)).toEqual([]);
    expect(
      busiestWindow(
        requests.map((r) => Date.parse(r.at)),
        1000,
      ),
    ).toBeLessThanOrEqual(20);
  });

  it('is what keeps the Rev.io simulator quiet: no gate, or a limit above the account’s, gets 429s', async () => {
    const ungated = await startRevio('revio-ungated', 20, 1000);
    const direct = await hammerRevio(unlimitedGate, ungated.creds, 40, 4);
    expect(direct.failures.length).toBeGreaterThan(0);
    expect(direct.failures[0]).toMatch(/429/);
    const sent = (await ungated.received()).map((r) => Date.parse(r.at));
    expect(busiestWindow(sent, 1000)).toBeGreaterThan(20);

    // Evenly spaced but 50 % too fast: the simulator's window catches rate, not only bursts.
    const tooFast = await startRevio('revio-too-fast', 20, 1000, 30);
    const gated = await hammerRevio(createPostgresRateGate({ db: database.db }), tooFast.creds, 24, 2);
    expect(gated.failures.length).toBeGreaterThan(0);
    expect((await tooFast.received()).some((r) => r.status === 429)).toBe(true);
  });

  describe('with a concurrency limit (Jasper)', () => {
    async function startJasper(
      id: string,
      limits: { requests: number; windowMs: number; concurrency: number },
    ) {
      const root = await listen(buildJasperSimulator({ limits }));
      const creds: JasperCredentials = {
        id,
        baseUrl: `${root}/rws/api/v1`,
        username: 'simbind',
        apiKey: 'demo-jasper-key',
        rateLimit: limits,
      };
      const state = async () => {
        const res = await fetch(`${root}/__sim/state`);
        return ((await res.json()) as JasperSimState).accounts.simbind;
      };
      const faults = async (rule: FaultRule) => {
        const body = JSON.stringify(rule);
        await fetch(`${root}/__sim/faults`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
      };
      return { creds, state, faults };
    }

    async function getDevices(gate: RateGate, creds: JasperCredentials, calls: number, callers: number) {
      const jasper = createJasperClient({ gate, timeoutMs: 5_000 });
      let next = 0;
      await Promise.all(
        Array.from({ length: callers }, async () => {
          while (next < calls) {
            next += 1;
            await jasper.getDevice(creds, '89011704278930000011');
          }
        }),
      );
    }

    it('sends one call at a time, 5 per second, from two pools', async () => {
      const { creds, state, faults } = await startJasper('jasper-shared', {
        requests: 5,
        windowMs: 1000,
        concurrency: 1,
      });
      // The first calls outlast the 206 ms spacing, so only the seat keeps them from overlapping; the
      // later ones are quick, so only the spacing keeps them under 5 per second.
      await faults({ latencyMs: 250, count: 4 });
      await Promise.all([
        getDevices(createPostgresRateGate({ db: database.db }), creds, 5, 3),
        getDevices(createPostgresRateGate({ db: second.db }), creds, 5, 3),
      ]);

      const account = await state();
      expect(account?.requests).toBe(10);
      expect(account?.maxInFlight).toBe(1);
      expect(account?.throttled).toEqual({ concurrency: 0, rate: 0 });
      expect(busiestWindow(account?.acceptedAt ?? [], 1000)).toBeLessThanOrEqual(5);
    });

    it('counts a call in the window until its release, so a late arrival does not overfill it', async () => {
      // 2 per 400 ms: slots 206 ms apart. The first call reaches the remote 300 ms after its slot (a
      // slow connection set-up); spacing alone would send the third 206 ms after the second, within
      // 400 ms of the first's arrival.
      const limits = { requests: 2, windowMs: 400, concurrency: 1 };
      const { creds, state } = await startJasper('jasper-late', limits);
      const late = arrivingLate(createPostgresRateGate({ db: database.db }), 300);

      const first = getDevices(late.gate, creds, 1, 1);
      await late.granted;
      await Promise.all([first, getDevices(createPostgresRateGate({ db: second.db }), creds, 2, 2)]);

      const account = await state();
      expect(account?.requests).toBe(3);
      expect(account?.throttled).toEqual({ concurrency: 0, rate: 0 });
      expect(busiestWindow(account?.acceptedAt ?? [], 400)).toBeLessThanOrEqual(2);
    });
  });

  it('counts a Rev.io call in the window until its release, so a late arrival does not overfill it', async () => {
    // Without a concurrency limit the second and third calls do not wait for the first: spacing
    // alone would send them at 206 and 412 ms, with the first arriving at 300 ms in between.
    const { creds, received } = await startRevio('revio-late', 2, 400);
    const late = arrivingLate(createPostgresRateGate({ db: database.db }), 300);

    const first = hammerRevio(late.gate, creds, 1, 1);
    await late.granted;
    const rest = await hammerRevio(createPostgresRateGate({ db: second.db }), creds, 2, 2);

    expect([await first, rest]).toEqual([
      { ok: 1, failures: [] },
      { ok: 2, failures: [] },
    ]);
    expect((await received()).map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('never lets the remote count more than the limit in a window, however calls interleave and however long they take', async () => {
    // Each call holds its grant for a random time (its request reaches the remote somewhere in
    // between). For the remote to see requests + 1 in some window [t, t + windowMs), requests + 1
    // calls' intervals must all meet it; the worst placement puts t at one of their releases.
    let run = 0;
    const call = fc.record({ process: fc.nat(2), startMs: fc.nat(120), holdMs: fc.nat(180) });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 150, max: 300 }),
        fc.constantFrom(undefined, 1, 2),
        fc.array(call, { minLength: 2, maxLength: 9 }),
        async (requests, windowMs, concurrency, calls) => {
          run += 1;
          const limit: AccountLimit = { key: `test:property-${run}`, requests, windowMs, concurrency };
          // Three gates stand for three processes (each has its own FIFO of waiters), on two pools.
          const gates = [database.db, second.db, database.db].map((db) => createPostgresRateGate({ db }));
          const held = await Promise.all(
            calls.map(async ({ process, startMs, holdMs }) => {
              await sleep(startMs);
              const release = await gates[process]!.acquire(limit);
              const grantedAt = performance.now();
              await sleep(holdMs);
              const releasedAt = performance.now();
              await release();
              return { grantedAt, releasedAt };
            }),
          );
          for (const { releasedAt: t } of held) {
            const meeting = held.filter((h) => h.grantedAt < t + windowMs && h.releasedAt >= t);
            expect(meeting.length).toBeLessThanOrEqual(requests);
          }
          if (concurrency !== undefined) {
            for (const { grantedAt: t } of held) {
              const overlapping = held.filter((h) => h.grantedAt <= t && h.releasedAt > t);
              expect(overlapping.length).toBeLessThanOrEqual(concurrency);
            }
          }
        },
      ),
      { numRuns: 12 },
    );
    // Bound by its sleeps: up to 9 calls of one request per window of up to 300 ms in each of 12
    // runs, 10 s here, and up to 3 × that under CI's load.
  }, 120_000);

  it('reclaims the seat of a holder that never releases once its lease expires', async () => {
    const limit: AccountLimit = { key: 'test:crashed', requests: 1000, windowMs: 1000, concurrency: 1 };
    // A holder that never renews its lease: what a killed process looks like to the others.
    const crashed = await createPostgresRateGate({ db: database.db, leaseMs: 300, renewEveryMs: 0 }).acquire(
      limit,
    );
    const other = createPostgresRateGate({ db: second.db, leaseMs: 300 });

    const waitStarted = performance.now();
    const reclaimed = await other.acquire(limit);
    // The lease was taken before `waitStarted`; allow for the clocks of the two ends of the wire.
    expect(performance.now() - waitStarted).toBeGreaterThanOrEqual(250);

    // The crashed holder waking up must not free the seat it lost.
    await crashed();
    const third = other.acquire(limit);
    expect(await settledWithin(third, 150)).toBe(pending);
    await reclaimed();
    const releaseThird = await third;
    await releaseThird();
  });

  it('keeps the seat of a live holder whose call outlasts the lease, by renewing it', async () => {
    const limit: AccountLimit = { key: 'test:renewed', requests: 1000, windowMs: 1000, concurrency: 1 };
    const holder = createPostgresRateGate({ db: database.db, leaseMs: 300, renewEveryMs: 100 });
    const other = createPostgresRateGate({ db: second.db, leaseMs: 300, renewEveryMs: 100 });
    const release = await holder.acquire(limit);
    // Four lease lengths: without the renewals the other process takes the seat after ~300 ms.
    const waiting = other.acquire(limit);
    expect(await settledWithin(waiting, 1200)).toBe(pending);
    await release();
    const releaseOther = await waiting;
    await releaseOther();
    await other.settle();
    expect(await heldLeases('test:renewed')).toBe(0);
  });

  /** The test's pool, with the gate function each statement calls written down (never destroyed: shared). */
  function loggedDb() {
    const sent: string[] = [];
    const db = new Kysely<DB>({
      dialect: new PostgresDialect({ pool: database.pool }),
      log: (event) => {
        if (event.level === 'query') sent.push(/rate_gate_\w+/.exec(event.query.sql)?.[0] ?? event.query.sql);
      },
    });
    return { db, sent };
  }

  it('sends a release with the next reservation for the account: one round trip per call', async () => {
    const { db, sent } = loggedDb();
    const gate = createPostgresRateGate({ db });
    const limit: AccountLimit = { key: 'test:one-trip', requests: 1000, windowMs: 1000, concurrency: 1 };
    for (let call = 0; call < 3; call++) {
      const release = await gate.acquire(limit);
      // The caller is not kept waiting for its release (it is not sent yet: no I/O in between here).
      expect(await settledWithin(release(), 0)).not.toBe(pending);
    }
    // The last one goes on its own at the next turn of the event loop: nobody asked after it.
    await new Promise((resolve) => setImmediate(resolve));
    await gate.settle();
    expect(await heldLeases(limit.key)).toBe(0);
    // With concurrency 1, each reservation was granted at once: the seat the previous call freed went with it.
    expect(sent).toEqual([
      'rate_gate_acquire',
      'rate_gate_acquire_after_release',
      'rate_gate_acquire_after_release',
      'rate_gate_release',
    ]);
  });

  it('reserves the next grant ahead for a limit like Rev.io’s, and gives back one nobody takes', async () => {
    const { db, sent } = loggedDb();
    const gate = createPostgresRateGate({ db });
    // A slot every 10 ms: one grant kept ahead (a faster limit keeps a run, below).
    const limit: AccountLimit = { key: 'test:ahead', requests: 6_000, windowMs: 60_000 };
    await (
      await gate.acquire(limit)
    )();
    await sleep(100); // the reservation made ahead has answered
    const before = sent.length;
    const release = await gate.acquire(limit);
    // Granted from the reservation made ahead: no statement on the caller's path.
    expect(sent.slice(before)).toEqual([]);
    await release();
    // The next one, reserved ahead again and taken by nobody, is given back on its own.
    await sleep(1_300);
    expect(await heldLeases(limit.key)).toBe(0);
    expect(sent.filter((call) => call.startsWith('rate_gate_acquire'))).toHaveLength(3);
  });

  it('grants the callers of a process that ask together in one round trip, spaced as if one after another', async () => {
    const { db, sent } = loggedDb();
    const gate = createPostgresRateGate({ db });
    const limit: AccountLimit = { key: 'test:together', requests: 600, windowMs: 60_000 };
    const spacing = 60_000 / (600 * 0.97);
    const waits: number[] = [];
    const releases = await Promise.all(
      [0, 1, 2, 3].map((i) => gate.acquire(limit, { onGrant: (ms) => (waits[i] = ms) })),
    );
    // The first caller asked for all four; the last, served from them, reserved the next ahead.
    expect(sent).toEqual(['rate_gate_acquire_many', 'rate_gate_acquire']);
    for (const [i, wait] of waits.entries()) expect(wait).toBeCloseTo(waits[0]! + i * spacing, -1.5);
    for (const release of releases) await release();
    await gate.settle();
    expect(await heldLeases(limit.key)).toBe(0);
  });

  it('keeps a run of grants ahead as one lease where a round trip spans several slots', async () => {
    const { db, sent } = loggedDb();
    const gate = createPostgresRateGate({ db });
    // 1,000,000 a minute: a slot every 0.06 ms, so a caller that had to ask would wait a round trip.
    const limit: AccountLimit = { key: 'test:fast', requests: 1_000_000, windowMs: 60_000 };
    const four = () => Promise.all([0, 1, 2, 3].map(() => gate.acquire(limit)));
    const reservations = () => sent.filter((call) => call.startsWith('rate_gate_acquire'));
    for (const release of await four()) await release();
    await sleep(100); // the run reserved ahead has answered
    expect(reservations()).toEqual(['rate_gate_acquire_many', 'rate_gate_acquire_range']);
    const run = await database.pool.query<{ rows: number; seqs: number }>(
      'SELECT count(*)::int AS rows, sum(seqs)::int AS seqs FROM rate_gate_lease WHERE key = $1',
      [limit.key],
    );
    // 10 ms of slots in one row (162), less the grants still kept then for the callers waiting
    // behind the first (the four callers' own leases were given back).
    expect(run.rows[0]?.rows).toBe(1);
    expect(run.rows[0]?.seqs).toBeGreaterThanOrEqual(162 - 3);
    expect(run.rows[0]?.seqs).toBeLessThanOrEqual(162);
    // A caller calling again the moment it has its grant, then four at once: all served from the
    // run, no reservation on any caller's path.
    for (let call = 0; call < 40; call++) await (await gate.acquire(limit))();
    for (const release of await four()) await release();
    expect(reservations()).toHaveLength(2);
    // The run goes back once, whole, when the grants nobody took are given back.
    expect(await heldLeases(limit.key)).toBe(1);
    await gate.settle();
    expect(await heldLeases(limit.key)).toBe(0);
  });

  it('grants a run of requests as one lease, spaced, and no further than the window allows', async () => {
    const ids = [1, 2, 3, 4].map((i) => `00000000-0000-4000-8000-00000000010${i}`);
    const range = async (requests: number, count: number, lease: string) =>
      (
        await database.pool.query<{
          granted: boolean;
          seq: number | null;
          seqs: number | null;
          wait_ms: number;
        }>(
          `SELECT granted, seq, seqs, wait_ms FROM rate_gate_acquire_range('{}', '{}', 'test:run', $1, 60000, 1000, $2, 15000, $3)`,
          [requests, lease, count],
        )
      ).rows[0]!;
    // Five per minute, a slot every second (so the waits below hold however slow the machine): a
    // run of 3, then the window leaves 2 of the 4 asked.
    expect(await range(5, 3, ids[0]!)).toMatchObject({ granted: true, seq: 0, seqs: 3 });
    const second = await range(5, 4, ids[1]!);
    expect(second).toMatchObject({ granted: true, seq: 3, seqs: 2 });
    // Its first slot comes after the first run's three, three seconds after the first.
    expect(second.wait_ms).toBeGreaterThan(2000);
    expect(second.wait_ms).toBeLessThanOrEqual(3000);
    expect(await range(5, 1, ids[2]!)).toMatchObject({ granted: false, seqs: null });
    // The first run given back by its first request frees the window for three more.
    await database.pool.query(`SELECT rate_gate_release('test:run', 0, $1, 5, 0, 1000)`, [ids[0]]);
    expect(await range(5, 9, ids[3]!)).toMatchObject({ granted: true, seq: 5, seqs: 3 });
    // Under a concurrency limit a run is one request, counted with every lease's requests.
    const seats = await database.pool.query<{ granted: boolean }>(
      `SELECT granted FROM rate_gate_acquire('test:run', 1000, 60000, 10, 6, gen_random_uuid(), 15000)`,
    );
    expect(seats.rows[0]?.granted).toBe(true);
    const full = await database.pool.query<{ granted: boolean }>(
      `SELECT granted FROM rate_gate_acquire('test:run', 1000, 60000, 10, 6, gen_random_uuid(), 15000)`,
    );
    expect(full.rows[0]?.granted).toBe(false);
  });

  it('never grants a run past request oldest-in-flight + requests − 1, whatever runs and releases interleave', async () => {
    // The window rule, checked on the account's numbers alone (no clock): requests in flight all lie
    // in [oldest lease's first request, next request), so that span never exceeds the limit, and a
    // run is granted as long as the rule allows (cut short by it, never refused below it).
    let run = 0;
    const op = fc.oneof(
      fc.record({ kind: fc.constant('run' as const), count: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(op, { maxLength: 25 }),
        async (requests, ops) => {
          run += 1;
          const key = `test:run-property-${run}`;
          const held: { seq: number; leaseId: string; seqs: number }[] = [];
          let nextSeq = 0;
          for (const step of ops) {
            if (step.kind === 'release') {
              const lease = held.splice(step.pick % Math.max(1, held.length), 1)[0];
              if (lease) {
                await database.pool.query(`SELECT rate_gate_release($1, $2, $3, $4, 0, 0.01)`, [
                  key,
                  lease.seq,
                  lease.leaseId,
                  requests,
                ]);
              }
              continue;
            }
            const oldest = held.length === 0 ? nextSeq : Math.min(...held.map((l) => l.seq));
            const { rows } = await database.pool.query<{
              granted: boolean;
              seq: number;
              seqs: number;
              lease_id: string;
            }>(
              `SELECT a.*, l.id AS lease_id
             FROM (SELECT gen_random_uuid() AS id) l,
                  rate_gate_acquire_range('{}', '{}', $1, $2, 60000, 0.01, l.id, 60000, $3) a`,
              [key, requests, step.count],
            );
            const answer = rows[0]!;
            const room = oldest + requests - nextSeq;
            expect(answer.granted).toBe(room > 0);
            if (!answer.granted) continue;
            expect(answer).toMatchObject({ seq: nextSeq, seqs: Math.min(step.count, room) });
            nextSeq += answer.seqs;
            held.push({ seq: answer.seq, leaseId: answer.lease_id, seqs: answer.seqs });
            const span = await database.pool.query<{ span: number; in_flight: number }>(
              `SELECT (SELECT next_seq FROM rate_gate WHERE key = $1) - min(seq) AS span, sum(seqs)::int AS in_flight
             FROM rate_gate_lease WHERE key = $1`,
              [key],
            );
            expect(Number(span.rows[0]!.span)).toBeLessThanOrEqual(requests);
            expect(span.rows[0]!.in_flight).toBe(held.reduce((n, l) => n + l.seqs, 0));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('asks one at a time where a grant held for a waiter would keep a call seat (a concurrency limit)', async () => {
    const { db, sent } = loggedDb();
    const gate = createPostgresRateGate({ db });
    const limit: AccountLimit = {
      key: 'test:together-seats',
      requests: 1000,
      windowMs: 1000,
      concurrency: 3,
    };
    const releases = await Promise.all([0, 1, 2].map(() => gate.acquire(limit)));
    expect(sent).toEqual(['rate_gate_acquire', 'rate_gate_acquire', 'rate_gate_acquire']);
    for (const release of releases) await release();
    await gate.settle();
  });

  it('grants for waiting callers stop at the first the window refuses, which is answered too', async () => {
    const ids = [0, 1, 2, 3].map((i) => `00000000-0000-4000-8000-00000000000${i}`);
    const { rows } = await database.pool.query<{ lease_id: string; granted: boolean; seq: number | null }>(
      `SELECT lease_id, granted, seq FROM rate_gate_acquire_many('{}', '{}', 'test:many-window', 2, 60000, 10, 0, $1, 15000)`,
      [ids],
    );
    // Request 2 may not be granted while request 0 is in flight (two per window).
    expect(rows).toEqual([
      { lease_id: ids[0], granted: true, seq: 0 },
      { lease_id: ids[1], granted: true, seq: 1 },
      { lease_id: ids[2], granted: false, seq: null },
    ]);
    expect(await heldLeases('test:many-window')).toBe(2);
  });

  it('gives back a request that ended on time without waiting for the account’s row, and moves the row on for one that did not', async () => {
    const acquire = async (key: string, requests: number, spacing: number, lease: string) =>
      (
        await database.pool.query<{ seq: string }>(
          `SELECT seq FROM rate_gate_acquire($1, $2, 60000, $3, 0, $4, 15000)`,
          [key, requests, spacing, lease],
        )
      ).rows[0]!.seq;
    const onTime = '00000000-0000-4000-8000-0000000000a1';
    const late = '00000000-0000-4000-8000-0000000000a2';
    // 1,000 a minute: request 1,000 is due ~60 s on anyway, so a release now has nothing to move.
    const onTimeSeq = await acquire('test:release-on-time', 1000, 61.8, onTime);
    // 2 a minute, spaced 10 ms: request 2 must wait a whole window after this release.
    const lateSeq = await acquire('test:release-late', 2, 10, late);

    const holder = await database.pool.connect();
    const releaser = await second.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(
        `SELECT 1 FROM rate_gate WHERE key IN ('test:release-on-time', 'test:release-late') FOR UPDATE`,
      );
      await releaser.query(`SET statement_timeout = 2000`);
      // A reservation holds both rows: the on-time release is not kept waiting by it.
      const released = await releaser.query<{ ok: boolean }>(
        `SELECT rate_gate_release('test:release-on-time', $1, $2, 1000, 60000, 61.8) AS ok`,
        [onTimeSeq, onTime],
      );
      expect(released.rows[0]?.ok).toBe(true);
      // The late one must move the row's time on, so it waits for the row…
      const moving = releaser.query<{ ok: boolean }>(
        `SELECT rate_gate_release('test:release-late', $1, $2, 2, 60000, 10) AS ok`,
        [lateSeq, late],
      );
      expect(await settledWithin(moving, 300)).toBe(pending);
      await holder.query('COMMIT');
      // …and then keeps request 2 a window after it.
      expect((await moving).rows[0]?.ok).toBe(true);
      const { rows } = await database.pool.query<{ ahead_ms: number }>(
        `SELECT (extract(epoch FROM tat - clock_timestamp()) * 1000)::float8 AS ahead_ms FROM rate_gate WHERE key = 'test:release-late'`,
      );
      // Request 2's slot is tat + 1 spacing: at least 60 s after the release.
      expect(rows[0]!.ahead_ms + 10).toBeGreaterThan(59_000);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      holder.release();
      releaser.release();
    }
    expect(await heldLeases('test:release-on-time')).toBe(0);
    expect(await heldLeases('test:release-late')).toBe(0);
  });

  it('refuses a renewal period that would let a live lease lapse', () => {
    expect(() => createPostgresRateGate({ db: database.db, leaseMs: 300, renewEveryMs: 300 })).toThrow(
      RangeError,
    );
  });

  it('starts afresh when the unlogged tables were emptied (server crash)', async () => {
    const gate = createPostgresRateGate({ db: database.db });
    const limit: AccountLimit = { key: 'test:truncated', requests: 1000, windowMs: 1000, concurrency: 2 };
    const first = await gate.acquire(limit);
    const stale = await gate.acquire(limit);
    await first();
    // The release is sent after the caller's turn; TRUNCATE meeting it in flight could deadlock with
    // it (the release locks the leases, then the account's row), which a crash never does.
    await gate.settle();
    await database.pool.query('TRUNCATE rate_gate, rate_gate_lease');
    const [a, b] = await Promise.all([gate.acquire(limit), gate.acquire(limit)]);
    const held = async () => {
      const { rows } = await database.pool.query<{ held: number }>(
        "SELECT count(*)::int AS held FROM rate_gate_lease WHERE key = 'test:truncated'",
      );
      return rows[0]?.held;
    };
    expect(await held()).toBe(2);
    // A lease from before the crash has the number of a new one: releasing it frees nothing.
    await stale();
    expect(await held()).toBe(2);
    const third = gate.acquire(limit);
    expect(await settledWithin(third, 150)).toBe(pending);
    await Promise.all([a(), b(), a()]);
    const releaseThird = await third;
    expect(await held()).toBe(1);
    await releaseThird();
  });

  it('does not slow one key down while another is saturated, and gives up waiting on abort', async () => {
    const gate: PostgresRateGate = createPostgresRateGate({ db: database.db });
    const busy: AccountLimit = { key: 'test:busy', requests: 1, windowMs: 60_000, concurrency: 1 };
    const busyRate: AccountLimit = { key: 'test:busy-rate', requests: 1, windowMs: 60_000 };
    const held = await gate.acquire(busy);
    await gate.acquire(busyRate);

    const aborts = new AbortController();
    const waiting = [
      gate.acquire(busy, { signal: aborts.signal }),
      gate.acquire(busyRate, { signal: aborts.signal }),
    ];
    expect(await settledWithin(Promise.race(waiting), 200)).toBe(pending);

    const others = Promise.all([
      gate.acquire({ key: 'test:idle', requests: 1, windowMs: 60_000, concurrency: 1 }),
      createPostgresRateGate({ db: second.db }).acquire({
        key: 'test:idle-rate',
        requests: 1,
        windowMs: 60_000,
      }),
    ]);
    expect(await settledWithin(others, 2_000)).not.toBe(pending);

    aborts.abort(new Error('shutting down'));
    for (const wait of waiting) await expect(wait).rejects.toThrow('shutting down');
    await held();
  });

  it('reports a lost database as a retryable failure, like a lost network', async () => {
    const gone = createDatabase(database.url, 1, 'rate-gate-gone');
    await gone.close();
    const acquiring = createPostgresRateGate({ db: gone.db }).acquire({
      key: 'test:gone',
      requests: 1,
      windowMs: 1,
    });
    await expect(acquiring).rejects.toBeInstanceOf(RetryableError);
    await expect(acquiring).rejects.toThrow(/rate gate: cannot reserve a request for test:gone/);
  });

  it('rejects limits and options that could never grant', async () => {
    const gate = createPostgresRateGate({ db: database.db });
    await expect(gate.acquire({ key: 'test:bad', requests: 0, windowMs: 1000 })).rejects.toThrow(RangeError);
    await expect(
      gate.acquire({ key: 'test:bad', requests: 5, windowMs: 1000, concurrency: 0 }),
    ).rejects.toThrow(RangeError);
    expect(() => createPostgresRateGate({ db: database.db, utilization: 1.2 })).toThrow(RangeError);
    expect(() => createPostgresRateGate({ db: database.db, leaseMs: 0 })).toThrow(RangeError);
  });
});
