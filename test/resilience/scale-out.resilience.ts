import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RevioSimState } from '../../simulators/revio.simulator.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { createSecretBox, generateSecretKey, parseSecretKey } from '../../src/services/secret-box.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { loadFleet, type Fleet } from '../helpers/fleet.ts';
import { freePort } from '../helpers/ports.ts';
import { parsePrometheus, valueOf, type Sample } from '../helpers/prometheus.ts';
import { failuresOf, processedOf, usableDevices } from './fixtures/fleet-picks.ts';
import { startSimbind, stopSimbind, type SimbindProcess } from './fixtures/simbind-process.ts';
import { chunkLocks, tally, until } from './fixtures/worker-pool.ts';

/**
 * Scale-out (issue 14): simbind as an operator runs it on several machines — one `simbind api`,
 * three `simbind worker`s and the three simulators (`simbind simulate …`), each a process of its
 * own, all on one PostgreSQL server (CI: TEST_DATABASE_URL), the demo's `simulator://` accounts
 * pointed at the simulators by SIMULATOR_URL_* alone (no SQL). A 5,000-device Rev.io assignment
 * (one service line per device, with a package) is shared by all three workers; a fourth started
 * midway takes part; one sent SIGTERM midway exits 0 within SHUTDOWN_GRACE_SECONDS, handing back
 * the rest of the chunk it held, which the others finish. At the end every device has exactly one
 * Rev.io service (in the simulator and in our records), one log entry per step and one ownership.
 * Then every live process's `/metrics` (the api's on PORT, each worker's on its METRICS_PORT,
 * behind METRICS_TOKEN) parses as Prometheus text and agrees with the database and the simulator.
 * Prints the per-worker share, the time, the recovery figures and the scraped figures.
 */

const DEVICES = 5000;
/** 25 chunks: enough for four workers of two slots each to share, and to join midway. */
const CHUNK_SIZE = 200;
const WORKER_CONCURRENCY = 2;
const GRACE_SECONDS = 10;
/** The demo seed leaves about a fifth of each provider's devices free; the larger provider is used. */
const SEED_DEVICES = 40_000;
const LOG = '[scale-out]';
const METRICS_TOKEN = 'scale-out-metrics-token';

const LOG_SERVICE = 'Create Rev.io Service: Rev.io API';
const LOG_OWNERSHIP = 'Create Rev.io Service: Update AMOP';

let database: TestDatabase;
let fleet: Fleet;
let admin: { authorization: string };
let apiUrl: string;
let revioUrl: string;
let commonEnv: Record<string, string>;
const processes: SimbindProcess[] = [];
/** Each process's `/metrics` address, by process name. */
const metricsUrls = new Map<string, string>();

beforeAll(async () => {
  const setupStarted = Date.now();
  const secretsKey = generateSecretKey();
  database = await createTestDatabase(4);
  // The processes need no data to start: they start while the demo data is seeded.
  const seeded = seedDemoData(database.db, {
    devices: SEED_DEVICES,
    secretBox: createSecretBox({ current: parseSecretKey(secretsKey) }),
  });
  seeded.catch(() => undefined); // awaited below; a failure is reported there, not as unhandled

  // Rev.io only (the change calls no carrier, and CI stays short), its limit far above the run's.
  const sim = startSimbind(
    'simulate revio',
    ['simulate', 'revio', '--limit-per-minute', '10000000'],
    {},
    /^SIMULATOR_URL_REVIO=/,
  );
  processes.push(sim);
  revioUrl = (await sim.ready).split('=')[1]!;

  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  commonEnv = {
    DATABASE_URL: database.url,
    SECRETS_KEY: secretsKey,
    SIMULATOR_URL_REVIO: revioUrl,
    // Five processes on one server (max_connections 100 by default): pools of 6.
    DATABASE_POOL_SIZE: '6',
    LOG_LEVEL: 'warn',
    SEED_ON_START: 'false',
    CHUNK_SIZE: String(CHUNK_SIZE),
    WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
    SHUTDOWN_GRACE_SECONDS: String(GRACE_SECONDS),
    PUBLIC_URL: apiUrl,
    METRICS_TOKEN,
  };
  const api = startSimbind(
    'api',
    ['api'],
    { ...commonEnv, HOST: '127.0.0.1', PORT: String(port) },
    /simbind is running at/,
  );
  processes.push(api);
  metricsUrls.set(api.name, `${apiUrl}/metrics`);
  await Promise.all([seeded, api.ready, ...[1, 2, 3].map(async (n) => (await startWorker(n)).ready)]);
  fleet = await loadFleet(database.pool);
  admin = await authHeaders(database.db, 'admin@northwind.example');
  console.log(
    `${LOG} set-up: ${SEED_DEVICES.toLocaleString('en')} demo devices seeded and 5 processes ready in ${((Date.now() - setupStarted) / 1000).toFixed(1)} s`,
  );
}, 180_000);

afterAll(async () => {
  await Promise.all(processes.map(stopSimbind));
  await database?.drop();
});

/** A worker serving its own `/metrics` on a free loopback port (ready once that listens). */
async function startWorker(n: number): Promise<SimbindProcess> {
  const metricsPort = await freePort();
  const worker = startSimbind(
    `scale-worker-${n}`,
    ['worker'],
    {
      ...commonEnv,
      WORKER_NAME: `scale-worker-${n}`,
      HOST: '127.0.0.1',
      METRICS_PORT: String(metricsPort),
    },
    /^metrics: http:/,
  );
  processes.push(worker);
  metricsUrls.set(worker.name, `http://127.0.0.1:${metricsPort}/metrics`);
  return worker;
}

/** One process's `/metrics`, read strictly as Prometheus text. */
async function scrape(name: string): Promise<Sample[]> {
  const res = await fetch(metricsUrls.get(name)!, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status, name).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parsePrometheus(await res.text());
}

const byName = (name: string) => processes.find((p) => p.name === name)!;

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`${apiUrl}/api/v1${path}`, {
    method,
    headers: { ...admin, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as T };
}

const q = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];

/** The open devices of each chunk, by bulk change. */
async function openOfChunks(id: number, chunks: number[]): Promise<Map<number, number>> {
  const rows = await q<{ chunk: number; open: number }>(
    `SELECT chunk, count(*) FILTER (WHERE status IN ('PENDING', 'PROCESSING'))::int AS open
     FROM bulk_change_device WHERE bulk_change_id = $1 AND chunk = ANY($2::int[]) GROUP BY chunk`,
    [id, chunks],
  );
  return new Map(rows.map((r) => [r.chunk, r.open]));
}

describe('one api, three workers (a fourth midway, one drained midway) and the simulators as processes', () => {
  it('share a 5,000-device change: every worker takes part, nothing is done twice, the result is exact', async () => {
    // The account's limit, through the API (no SQL), before any worker has read the account.
    const accounts = await api<{ items: { id: number; integration: string }[] }>('GET', '/integrations');
    const revio = accounts.json.items.find((a) => a.integration === 'revio')!;
    const patched = await api('PATCH', `/integrations/${revio.id}`, {
      rateLimit: { requests: 3000, windowMs: 1000 },
    });
    expect(patched.status).toBe(200);

    // The provider with the most free devices (the Rev path calls no carrier).
    const free = await q<{ id: number; n: number }>(
      `SELECT d.service_provider_id AS id, count(*)::int AS n FROM device d
       WHERE d.service_provider_id = ANY($1::int[]) AND d.status = 'active' AND NOT d.is_archived
         AND NOT EXISTS (SELECT 1 FROM device_tenant dt WHERE dt.device_id = d.id)
       GROUP BY 1 ORDER BY 2 DESC`,
      [[fleet.thingspace, fleet.jasper]],
    );
    const providerId = free[0]!.id;
    console.log(`${LOG} free devices per provider: ${JSON.stringify(free)}`);
    const iccids = await usableDevices(database.pool, providerId, DEVICES);

    const submitted = Date.now();
    const res = await api<{ id: number }>('POST', '/bulk-changes', {
      changeType: 'customer_assignment',
      serviceProviderId: providerId,
      customerId: fleet.revCustomer.id,
      devices: iccids,
      createRevService: true,
      revService: { serviceTypeId: 3, packageId: 77 },
      addCarrierRatePlan: false,
      addCustomerRatePlan: false,
    });
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    const id = res.json.id;
    const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);

    // A fourth worker, started once a tenth is done (its start-up overlaps what follows).
    await until(
      '10 % processed',
      120_000,
      async () => ((await processedOf(database.pool, id)) >= DEVICES / 10 ? true : undefined),
      200,
    );
    const fourthStartedAt = Date.now();
    const fourthReadyS = startWorker(4)
      .then((w) => w.ready)
      .then(() => seconds(fourthStartedAt));

    // The drained one: a first-three worker holding a chunk with open devices, at about a third.
    await until(
      '30 % processed',
      120_000,
      async () => ((await processedOf(database.pool, id)) >= (DEVICES * 3) / 10 ? true : undefined),
      200,
    );
    const held = await until(
      'a first-three worker holding a chunk with open devices',
      60_000,
      async () => {
        const locks = (await chunkLocks(database.pool)).filter(
          (l) => l.bulkChangeId === id && /^scale-worker-[123]$/.test(l.worker),
        );
        const open = await openOfChunks(
          id,
          locks.map((l) => l.chunk),
        );
        const busy = locks.filter((l) => (open.get(l.chunk) ?? 0) > CHUNK_SIZE / 4);
        return busy.length > 0 ? busy : undefined;
      },
      100,
    );
    const victim = byName(held[0]!.worker);
    const victimChunks = (await chunkLocks(database.pool))
      .filter((l) => l.worker === victim.name && l.bulkChangeId === id)
      .map((l) => l.chunk);
    const termAt = Date.now();
    victim.child.kill('SIGTERM');
    const exit = await victim.exited;
    const drainS = (Date.now() - termAt) / 1000;
    const openAtExit = await openOfChunks(id, victimChunks);
    const exitedAt = Date.now();
    // Taken up again: another worker holds the chunk's lock, or nothing of it is open any more.
    const takenUpS = await Promise.all(
      victimChunks.map((chunk) =>
        until(
          `chunk ${chunk} taken up by another worker`,
          90_000,
          async () => {
            const holder = (await chunkLocks(database.pool)).find(
              (l) => l.bulkChangeId === id && l.chunk === chunk,
            );
            const open = (await openOfChunks(id, [chunk])).get(chunk) ?? 0;
            return holder || open === 0 ? (Date.now() - exitedAt) / 1000 : undefined;
          },
          100,
        ),
      ),
    );

    await until(
      'the change to finish',
      180_000,
      async () => {
        const [row] = await q<{ status: string }>('SELECT status FROM bulk_change WHERE id = $1', [id]);
        return ['NEW', 'PROCESSING'].includes(row!.status) ? undefined : row!.status;
      },
      200,
    );
    const totalS = seconds(submitted);

    // Figures to quote.
    const shares = await q<{ worker: string; devices: number; chunks: number }>(
      `SELECT c.processed_by AS worker, count(DISTINCT w.id)::int AS devices, count(DISTINCT w.chunk)::int AS chunks
       FROM change_log c JOIN bulk_change_device w ON w.id = c.bulk_change_device_id
       WHERE w.bulk_change_id = $1 AND c.description = $2 GROUP BY 1 ORDER BY 1`,
      [id, LOG_SERVICE],
    );
    console.log(
      `${LOG} ${DEVICES} devices (Rev.io service line each), ${DEVICES / CHUNK_SIZE} chunks, done in ${totalS} s`,
    );
    for (const s of shares) {
      console.log(
        `${LOG}   ${s.worker}: ${s.devices} devices (${((s.devices / DEVICES) * 100).toFixed(1)} %) in ${s.chunks} chunks`,
      );
    }
    console.log(`${LOG} scale-worker-4 started at 10 % processed, ready in ${await fourthReadyS} s`);
    console.log(
      `${LOG} ${victim.name} SIGTERMed at ~30 %: exited ${exit.code ?? exit.signal} after ${drainS.toFixed(1)} s (grace ${GRACE_SECONDS} s); ` +
        `chunks ${victimChunks.join(', ')} handed back with ${victimChunks.map((c) => openAtExit.get(c) ?? 0).join(', ')} devices open, ` +
        `taken up by another worker ${takenUpS.map((s) => `${s.toFixed(1)} s`).join(', ')} after it exited`,
    );

    // The drained worker: exit 0 within the grace, the rest of its chunk finished by the others.
    expect(exit).toEqual({ code: 0, signal: null });
    expect(drainS).toBeLessThan(GRACE_SECONDS);
    expect(victim.lines.some((l) => l.includes('SIGTERM: stopping'))).toBe(true);
    expect(victim.lines.at(-1)).toBe('stopped.');
    const handedBack = victimChunks.filter((c) => (openAtExit.get(c) ?? 0) > 0);
    expect(handedBack.length, `open devices of ${victim.name}'s chunks at its exit`).toBeGreaterThan(0);
    const finishers = await q<{ worker: string; n: number }>(
      `SELECT c.processed_by AS worker, count(*)::int AS n
       FROM change_log c JOIN bulk_change_device w ON w.id = c.bulk_change_device_id
       WHERE w.bulk_change_id = $1 AND w.chunk = ANY($2::int[]) AND c.description = $3 AND c.processed_at > to_timestamp($4 / 1000.0)
       GROUP BY 1`,
      [id, handedBack, LOG_SERVICE, exitedAt],
    );
    expect(finishers.length).toBeGreaterThan(0);
    expect(finishers.map((f) => f.worker)).not.toContain(victim.name);

    // Every worker took part; the fourth ran at least one chunk.
    const share = new Map(shares.map((s) => [s.worker, s]));
    for (const n of [1, 2, 3, 4]) expect(share.get(`scale-worker-${n}`)?.devices ?? 0).toBeGreaterThan(0);
    expect(share.get('scale-worker-4')!.chunks).toBeGreaterThanOrEqual(1);
    expect([...share.keys()].every((w) => /^scale-worker-[1-4]$/.test(w))).toBe(true);

    // The result, exact.
    const [counts] = await q<Record<string, number>>(
      `SELECT count(*)::int AS total, count(*) FILTER (WHERE status = 'PROCESSED')::int AS processed
       FROM bulk_change_device WHERE bulk_change_id = $1`,
      [id],
    );
    expect(counts, await failuresOf(database.pool, id)).toEqual({ total: DEVICES, processed: DEVICES });
    const view = await api<{ status: string; counts: { processed: number; error: number } }>(
      'GET',
      `/bulk-changes/${id}`,
    );
    expect(view.json.status).toBe('PROCESSED');
    expect(view.json.counts).toMatchObject({ processed: DEVICES, error: 0 });

    // Nothing done twice: per device one service-line log entry, one ownership entry, steps once.
    const perDevice = await q<{ service: number; ownership: number; steps: string }>(
      `SELECT count(c.id) FILTER (WHERE c.description = $2)::int AS service,
              count(c.id) FILTER (WHERE c.description = $3)::int AS ownership,
              array_to_string(w.steps_done, ',') AS steps
       FROM bulk_change_device w LEFT JOIN change_log c ON c.bulk_change_device_id = w.id
       WHERE w.bulk_change_id = $1 GROUP BY w.id`,
      [id, LOG_SERVICE, LOG_OWNERSHIP],
    );
    expect(Object.fromEntries(tally(perDevice.map((d) => `${d.service}/${d.ownership}/${d.steps}`)))).toEqual(
      {
        '1/1/rev_service,ownership': DEVICES,
      },
    );

    // …and at Rev.io: one service line per device, the ones recorded, each device owned through it.
    const sim = (await (await fetch(`${revioUrl.replace(/\/v1$/, '')}/__sim/state`)).json()) as RevioSimState;
    const mine = new Set(iccids);
    const lines = sim.services.filter((s) => s.number2 !== null && mine.has(s.number2));
    expect([...tally(lines.map((s) => s.number2))].filter(([, c]) => c > 1)).toEqual([]);
    expect(lines).toHaveLength(DEVICES);
    const [owned] = await q<{ owned: number }>(
      `SELECT count(*)::int AS owned
       FROM bulk_change_device w
       JOIN rev_service rs ON rs.bulk_change_device_id = w.id AND rs.status = 'created'
       JOIN device_tenant dt ON dt.device_id = w.device_id AND dt.tenant_id = w.tenant_id
       WHERE w.bulk_change_id = $1 AND dt.customer_id = $2 AND dt.is_active AND NOT dt.is_deleted
         AND dt.rev_service_id = rs.service_id AND rs.service_id = ANY($3::bigint[])`,
      [id, fleet.revCustomer.id, lines.map((s) => s.service_id)],
    );
    expect(owned!.owned).toBe(DEVICES);

    // The other workers still run: the drain stopped one process only.
    for (const n of [1, 2, 3, 4]) {
      const w = byName(`scale-worker-${n}`);
      if (w !== victim) expect(w.child.exitCode).toBeNull();
    }

    // /metrics of every live process, parsed strictly, against the database and the simulator.
    const survivors = [1, 2, 3, 4].map((n) => `scale-worker-${n}`).filter((w) => w !== victim.name);
    const apiSamples = await scrape('api');
    const workerSamples = await Promise.all(survivors.map(scrape));

    // (a) The api's work-order gauges (read at scrape) are the table's counts; every status is
    // exported, 0 included, so the zeros are left out of the comparison.
    const orders = await q<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM bulk_change_device GROUP BY status',
    );
    const gauges: Record<string, number> = Object.fromEntries(
      apiSamples.filter((s) => s.name === 'simbind_work_orders').map((s) => [s.labels.status!, s.value]),
    );
    console.log(
      `${LOG} /metrics api: simbind_work_orders ${JSON.stringify(gauges)}; database ${JSON.stringify(Object.fromEntries(orders.map((o) => [o.status, o.n])))}`,
    );
    expect(Object.fromEntries(Object.entries(gauges).filter(([, n]) => n !== 0))).toEqual(
      Object.fromEntries(orders.map((o) => [o.status, o.n])),
    );

    // (b) `complete` counts the work orders a worker's group marked PROCESSED: the same group that
    // wrote their ownership entry just before (processing.service.ts, runGroup), so the database
    // figure is the worker's ownership entries. A drained worker ends the group in hand and hands
    // back only devices it never claimed, so a handed-back chunk is split between the worker that
    // began it and those that finished it, with no device counted twice: exactly comparable.
    const completed = new Map(
      (
        await q<{ worker: string; n: number }>(
          `SELECT c.processed_by AS worker, count(DISTINCT w.id)::int AS n
           FROM change_log c JOIN bulk_change_device w ON w.id = c.bulk_change_device_id
           WHERE w.bulk_change_id = $1 AND w.status = 'PROCESSED' AND c.description = $2 GROUP BY 1`,
          [id, LOG_OWNERSHIP],
        )
      ).map((r) => [r.worker, r.n]),
    );
    // (c) Rev.io creates: a surviving worker's `POST /Services` ok calls are its service lines. The
    // drained worker's counters ended with its process; its share is read from the database.
    const posts = survivors.map(
      (_, i) =>
        valueOf(workerSamples[i]!, 'simbind_external_calls_total', {
          system: 'revio',
          operation: 'POST /Services',
          outcome: 'ok',
        }) ?? 0,
    );
    survivors.forEach((worker, i) => {
      const complete = valueOf(workerSamples[i]!, 'simbind_devices_processed_total', {
        step: 'complete',
        outcome: 'ok',
      });
      console.log(
        `${LOG} /metrics ${worker}: devices_processed_total{complete,ok} ${complete}, database ${completed.get(worker)}; ` +
          `external_calls_total{revio,POST /Services,ok} ${posts[i]}, database ${share.get(worker)!.devices}`,
      );
      expect(complete, worker).toBe(completed.get(worker));
      expect(posts[i], worker).toBe(share.get(worker)!.devices);
    });
    const surviving = posts.reduce((sum, n) => sum + n, 0);
    const drained = share.get(victim.name)!.devices;
    console.log(
      `${LOG} Rev.io services created ${lines.length}: surviving workers' POST /Services ok ${surviving} + ${victim.name}'s share in the database ${drained}`,
    );
    expect(surviving).toBeLessThanOrEqual(lines.length);
    expect(surviving + drained).toBe(lines.length);
  });
});
