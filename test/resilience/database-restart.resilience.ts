import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revioSimState } from '../../simulators/revio.simulator.ts';
import { authHeaders } from '../helpers/auth.ts';
import { freeDevices, loadFleet } from '../helpers/fleet.ts';
import { postAssignment } from '../helpers/assignments.ts';
import {
  createRestartableWorld,
  type RestartableWorld,
  type WorkerProcess,
} from './fixtures/db-restart-world.ts';

/**
 * PostgreSQL goes away for 10 s in the middle of a bulk change (`pg_ctl stop -m fast`, then started
 * again on the same data directory and port): meanwhile the API says so (503, readiness 503,
 * liveness still 200); afterwards the worker process (a real `simbind worker`) carries on by itself,
 * and the job ends exactly as if nothing had happened: every device PROCESSED, one Rev.io service
 * per ICCID, every log entry once. Should the worker process die of the outage, the test says so
 * and starts another one (as a process manager would), to still check that nothing was lost.
 */

const DEVICES = 300;
const OUTAGE_MS = 10_000;
/** Rev.io latency on every create: 300 devices × 2 creates take ~25 s over 2 chunks × 8 calls. */
const REVIO_LATENCY_MS = 600;

let world: RestartableWorld;

beforeAll(async () => {
  world = await createRestartableWorld({ devices: 2000 });
}, 180_000);
afterAll(async () => {
  await world?.close();
});

interface Probe {
  path: string;
  status: number | 'no answer';
  startedAt: number;
  endedAt: number;
}

/** Asks the API every 200 ms until stopped; each answer is kept with when it was asked and answered. */
function startProbing(paths: { path: string; headers?: Record<string, string> }[]) {
  const probes: Probe[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      await Promise.all(
        paths.map(async ({ path, headers }) => {
          const startedAt = Date.now();
          const status = await fetch(`${world.baseUrl}${path}`, {
            headers,
            signal: AbortSignal.timeout(5000),
          }).then(
            async (res) => {
              await res.arrayBuffer();
              return res.status;
            },
            () => 'no answer' as const,
          );
          probes.push({ path, status, startedAt, endedAt: Date.now() });
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  return {
    probes,
    async stop() {
      running = false;
      await loop;
    },
  };
}

const q = async <T>(text: string, values: unknown[] = []) =>
  (await world.database.pool.query(text, values)).rows as T[];

async function workOrderCounts(id: number): Promise<Record<string, number>> {
  const rows = await q<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM bulk_change_device WHERE bulk_change_id = $1 GROUP BY 1',
    [id],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

/** Polls through the test's own pool, which (like the app's) reconnects once the server is back. */
async function waitForFinal(id: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await q<{ status: string }>('SELECT status FROM bulk_change WHERE id = $1', [id]).catch(
      () => [],
    );
    const status = rows[0]?.status;
    if (status && !['NEW', 'PROCESSING'].includes(status)) return status;
    if (Date.now() > deadline) {
      const jobs = await q(
        `SELECT name, state, retry_count, left(output::text, 300) AS output FROM pgboss.job
         WHERE data->>'bulkChangeId' = $1 ORDER BY created_on`,
        [String(id)],
      );
      throw new Error(
        `bulk change ${id} still ${status} after ${timeoutMs} ms: ${JSON.stringify(await workOrderCounts(id))}\n${JSON.stringify(jobs)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** What a worker process said after it started: the error that ended it comes first. */
function lastWords(worker: WorkerProcess): string[] {
  const started = worker.output.findIndex((line) => line.includes('simbind worker running'));
  return worker.output.slice(started + 1, started + 13);
}

function tally(probes: Probe[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const p of probes) {
    const byStatus = (out[p.path] ??= {});
    byStatus[String(p.status)] = (byStatus[String(p.status)] ?? 0) + 1;
  }
  return out;
}

describe('a database restart in the middle of a bulk change', () => {
  it('answers 503 meanwhile, and the job then completes exactly, by itself', async () => {
    const pool = world.database.pool;
    const fleet = await loadFleet(pool);
    const admin = await authHeaders(world.database.db, 'admin@northwind.example');
    const devices = await freeDevices(pool, fleet.thingspace, DEVICES);
    const worker = await world.startWorkerProcess();
    await world.revio.inject({
      method: 'POST',
      url: '/__sim/faults',
      payload: { method: 'POST', latencyMs: REVIO_LATENCY_MS },
    });

    const submittedAt = Date.now();
    const res = await postAssignment(world.app, admin, {
      serviceProviderId: fleet.thingspace,
      customerId: fleet.revCustomer.id,
      devices,
      createRevService: true,
      revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 2 }] },
    });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json<{ id: number }>().id;
    const probing = startProbing([
      { path: `/api/v1/bulk-changes/${id}`, headers: admin },
      { path: '/readyz' },
      { path: '/healthz' },
    ]);

    // Mid-job: some devices done, most still to do.
    for (;;) {
      const counts = await workOrderCounts(id);
      if ((counts.PROCESSED ?? 0) >= 40) break;
      expect(Date.now() - submittedAt, 'the job made no progress before the outage').toBeLessThan(60_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const beforeOutage = await workOrderCounts(id);
    const createdBeforeOutage = revioSimState(world.revio).services.length;

    const stopIssuedAt = Date.now();
    await world.stopDatabase();
    const downAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS - (downAt - stopIssuedAt)));
    const startIssuedAt = Date.now();
    await world.startDatabase();
    const upAt = Date.now();

    // A worker process that survives carries on; one that dies (now or later) is replaced, as a
    // process manager would, so that the rest of the test still checks that nothing was lost.
    let finished = false;
    let replacement: Promise<WorkerProcess | undefined> | undefined;
    void worker.exited.then(() => {
      if (finished) return;
      replacement = world.startWorkerProcess().catch((error: unknown) => {
        console.log(`the replacement worker did not start: ${String(error)}`);
        return undefined;
      });
    });

    const status = await waitForFinal(id, 150_000);
    finished = true;
    const finishedAt = Date.now();
    const workerDied = worker.alive() ? undefined : await worker.exited;
    const afterRestart = startProbing([{ path: `/api/v1/bulk-changes/${id}`, headers: admin }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await afterRestart.stop();
    await probing.stop();

    // Answers asked and received while the server was certainly down (stopped, not yet restarting).
    const during = probing.probes.filter((p) => p.startedAt >= downAt && p.endedAt <= startIssuedAt);
    const seen = tally(during);
    const after = await workOrderCounts(id);
    const firstProgress = await q<{ at: Date | null }>(
      `SELECT min(processed_at) AS at FROM bulk_change_device WHERE bulk_change_id = $1 AND processed_at > to_timestamp($2 / 1000.0)`,
      [id, upAt],
    );
    console.log(
      [
        `database restart: ${DEVICES} devices, Rev.io latency ${REVIO_LATENCY_MS} ms per create`,
        `  before the outage: ${JSON.stringify(beforeOutage)} (${createdBeforeOutage} Rev.io services) at ${((stopIssuedAt - submittedAt) / 1000).toFixed(1)} s`,
        `  outage: ${((upAt - stopIssuedAt) / 1000).toFixed(1)} s (pg_ctl stop ${downAt - stopIssuedAt} ms, down ${startIssuedAt - downAt} ms, pg_ctl start ${upAt - startIssuedAt} ms)`,
        `  API statuses while down: ${JSON.stringify(seen)}`,
        `  restart → first device processed: ${firstProgress[0]?.at ? ((firstProgress[0].at.getTime() - upAt) / 1000).toFixed(1) : '-'} s; → ${status}: ${((finishedAt - upAt) / 1000).toFixed(1)} s (total ${((finishedAt - submittedAt) / 1000).toFixed(1)} s)`,
        `  after: ${JSON.stringify(after)}; API queue errors: ${world.queueErrors.length}`,
        workerDied
          ? `  the worker process DIED ${((workerDied.at - stopIssuedAt) / 1000).toFixed(1)} s into the outage (exit ${workerDied.code ?? workerDied.signal}); a replacement (pid ${(await replacement)?.pid}) finished the job. Its last words:\n    ${lastWords(worker).join('\n    ')}`
          : `  the worker process (pid ${worker.pid}) survived the outage; its output:\n    ${worker.output.slice(-6).join('\n    ')}`,
      ].join('\n'),
    );

    expect
      .soft(
        workerDied,
        'the worker process must survive a database restart (it died; see its last words above)',
      )
      .toBeUndefined();

    // The outage really hit the job in the middle.
    expect(beforeOutage.PROCESSED ?? 0).toBeLessThan(DEVICES / 2);
    expect(during.length).toBeGreaterThanOrEqual(3 * 20);

    // While down: the API says "unavailable", readiness says not ready, liveness stays up.
    const bulkPath = `/api/v1/bulk-changes/${id}`;
    expect.soft(seen['/healthz'], 'liveness must not depend on the database').toEqual({
      200: during.filter((p) => p.path === '/healthz').length,
    });
    expect.soft(seen['/readyz'], 'readiness while the database is down').toEqual({
      503: during.filter((p) => p.path === '/readyz').length,
    });
    expect.soft(seen[bulkPath], 'GET /api/v1/bulk-changes/:id while the database is down').toEqual({
      503: during.filter((p) => p.path === bulkPath).length,
    });
    // …and answers again once it is back.
    expect(afterRestart.probes.length).toBeGreaterThan(0);
    expect(afterRestart.probes.every((p) => p.status === 200)).toBe(true);

    // The job completed exactly.
    expect(status).toBe('PROCESSED');
    expect(after).toEqual({ PROCESSED: DEVICES });
    const view = await world.app.inject({ method: 'GET', url: bulkPath, headers: admin });
    expect(view.json<{ counts: unknown }>().counts).toEqual({
      total: DEVICES,
      pending: 0,
      processing: 0,
      waiting: 0,
      processed: DEVICES,
      error: 0,
      cancelled: 0,
    });

    // One Rev.io service per ICCID and one product per service, all recorded.
    const sim = revioSimState(world.revio);
    const perIccid = new Map<string, number>();
    for (const s of sim.services) perIccid.set(s.number2 ?? '', (perIccid.get(s.number2 ?? '') ?? 0) + 1);
    expect(devices.filter((iccid) => perIccid.get(iccid) !== 1)).toEqual([]);
    expect(sim.services).toHaveLength(DEVICES);
    const productsPerService = new Map<number, number>();
    for (const p of sim.serviceProducts)
      productsPerService.set(p.service_id, (productsPerService.get(p.service_id) ?? 0) + 1);
    expect(sim.services.filter((s) => productsPerService.get(s.service_id) !== 1)).toEqual([]);
    expect(sim.serviceProducts).toHaveLength(DEVICES);
    const recorded = await q<{ services: number; distinct_services: number; products: number }>(
      `SELECT count(*)::int AS services, count(DISTINCT rs.service_id)::int AS distinct_services,
              (SELECT count(*)::int FROM rev_service_product p JOIN rev_service r ON r.id = p.rev_service_id
               JOIN bulk_change_device w2 ON w2.id = r.bulk_change_device_id
               WHERE w2.bulk_change_id = $1 AND p.status = 'created') AS products
       FROM rev_service rs JOIN bulk_change_device w ON w.id = rs.bulk_change_device_id
       WHERE w.bulk_change_id = $1 AND rs.status = 'created'`,
      [id],
    );
    expect(recorded[0]).toEqual({ services: DEVICES, distinct_services: DEVICES, products: DEVICES });

    // Every change-log entry present once per device, none in error.
    const logs = await q<{ description: string; n: number; devices: number; errors: number }>(
      `SELECT regexp_replace(description, ' \\(.*\\)$', '') AS description, count(*)::int AS n,
              count(DISTINCT device_id)::int AS devices, count(*) FILTER (WHERE has_error)::int AS errors
       FROM change_log WHERE bulk_change_id = $1 GROUP BY 1 ORDER BY 1`,
      [id],
    );
    expect(logs).toEqual(
      [
        'Create Rev.io Service Product: Rev.io API',
        'Create Rev.io Service: Rev.io API',
        'Create Rev.io Service: Update AMOP',
      ].map((description) => ({ description, n: DEVICES, devices: DEVICES, errors: 0 })),
    );
    const owned = await q<{ n: number }>(
      `SELECT count(*)::int AS n FROM device_tenant dt JOIN device d ON d.id = dt.device_id
       WHERE d.iccid = ANY($1) AND dt.customer_id = $2 AND dt.rev_service_id IS NOT NULL AND dt.is_active`,
      [devices, fleet.revCustomer.id],
    );
    expect(owned[0]!.n).toBe(DEVICES);
  }, 240_000);
});
