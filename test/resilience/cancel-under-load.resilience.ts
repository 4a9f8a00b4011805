import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revioSimState } from '../../simulators/revio.simulator.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { authHeaders } from '../helpers/auth.ts';
import { loadFleet, type Fleet } from '../helpers/fleet.ts';
import { usableDevices } from './fixtures/fleet-picks.ts';
import { createWorld, waitForFinish, type World } from '../helpers/world.ts';
import { between, sleep, tally, workerPool, type WorkerPool } from './fixtures/worker-pool.ts';

/**
 * "Cancel takes effect between devices": three fresh 2,000-device Rev.io assignments, each processed
 * by three worker processes and cancelled at a random moment. Every device must end all-or-nothing:
 * PROCESSED with its service, product, ownership and customer plan, or CANCELLED with nothing at all
 * (no Rev.io service, so the customer is not billed for a device it does not own). The counts of the
 * API, of the rows and of the completion stats must agree, and match what Rev.io holds.
 */

const RUNS = 3;
const DEVICES = 2000;
const CHUNK_SIZE = 100;
const WORKERS = 3;
const WORKER_CONCURRENCY = 3;
/** A first guess of a whole run; later runs use the rate measured in the earlier ones. */
const FIRST_GUESS_MS = 15_000;
const LOG = '[cancel-under-load]';

let world: World;
let fleet: Fleet;
let admin: { authorization: string };
let workers: WorkerPool;
let pool: string[];
let expectedRunMs = FIRST_GUESS_MS;

beforeAll(async () => {
  // 10,000 free Jasper devices needed, none used twice: the demo seed makes 8 % of its fleet free
  // Jasper devices on PostgreSQL 15 and 19 % on 18 (which provider gets which share follows ids).
  world = await createWorld({ devices: 135_000, worker: false });
  fleet = await loadFleet(world.database.pool);
  admin = await authHeaders(world.database.db, 'admin@northwind.example');
  // Without the carrier simulators' magic ICCIDs, though no carrier is called here.
  pool = await usableDevices(world.database.pool, fleet.jasper, RUNS * DEVICES);
  expect(pool).toHaveLength(RUNS * DEVICES);
  workers = workerPool(world, {
    prefix: 'cancel-worker',
    chunkSize: CHUNK_SIZE,
    concurrency: WORKER_CONCURRENCY,
  });
  await Promise.all(Array.from({ length: WORKERS }, () => workers.start()));
}, 180_000);

afterAll(async () => {
  await workers?.killAll();
  await world?.close();
});

const q = async <T>(text: string, values: unknown[] = []) =>
  (await world.database.pool.query(text, values)).rows as T[];

interface View {
  status: string;
  counts: Record<string, number>;
  actions: string[];
  cancelRequestedAt: string | null;
}

async function view(id: number): Promise<View> {
  const res = await world.app.inject({ method: 'GET', url: `/api/v1/bulk-changes/${id}`, headers: admin });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<View>();
}

describe('a cancel at a random moment under load', () => {
  for (let run = 1; run <= RUNS; run += 1) {
    it(`run ${run}: every device ends all-or-nothing, and every count agrees`, async () => {
      const devices = pool.slice((run - 1) * DEVICES, run * DEVICES);
      const res = await postAssignment(world.app, admin, {
        serviceProviderId: fleet.jasper,
        customerId: fleet.revCustomer.id,
        devices,
        createRevService: true,
        revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 2 }] },
        addCustomerRatePlan: true,
        customerRatePlan: { ratePlanId: fleet.customerRatePlan },
      });
      expect(res.statusCode, res.body).toBe(202);
      const id = res.json<{ id: number }>().id;
      const submittedAt = Date.now();

      const delayMs = between(1000, Math.max(1500, 0.7 * expectedRunMs));
      await sleep(delayMs);
      const cancel = await world.app.inject({
        method: 'POST',
        url: `/api/v1/bulk-changes/${id}/cancel`,
        headers: admin,
      });
      const cancelledAt = Date.now();
      const [{ done }] = (await q<{ done: number }>(
        `SELECT count(*)::int AS done FROM bulk_change_device WHERE bulk_change_id = $1 AND status = 'PROCESSED'`,
        [id],
      )) as [{ done: number }];

      let expectedStatus: string;
      if (cancel.statusCode === 202) {
        expectedStatus = 'CANCELLED';
        const after = await view(id);
        expect(after.actions).not.toContain('cancel');
        expect(after.cancelRequestedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      } else {
        // Too late: every device had begun (or the change had finished); it ends on its own.
        expect(cancel.statusCode, cancel.body).toBe(409);
        expect(cancel.json<{ error: { message: string } }>().error.message).toMatch(
          /Nothing left to cancel|only an open bulk change can be cancelled/,
        );
        expectedStatus = 'PROCESSED';
      }
      const status = await waitForFinish(world, id, 120_000);
      const toFinalMs = Date.now() - cancelledAt;

      // Counts: API = rows = completion stats.
      const [sqlCounts] = await q<Record<string, number>>(
        `SELECT count(*)::int AS total,
                count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
                count(*) FILTER (WHERE status = 'PROCESSING')::int AS processing,
                count(*) FILTER (WHERE status = 'WAITING_CARRIER')::int AS waiting,
                count(*) FILTER (WHERE status = 'PROCESSED')::int AS processed,
                count(*) FILTER (WHERE status = 'ERROR')::int AS error,
                count(*) FILTER (WHERE status = 'CANCELLED')::int AS cancelled
         FROM bulk_change_device WHERE bulk_change_id = $1`,
        [id],
      );
      const final = await view(id);
      const [{ stats }] = (await q<{ stats: { counts: unknown } | null }>(
        'SELECT stats FROM bulk_change WHERE id = $1',
        [id],
      )) as [{ stats: { counts: unknown } | null }];
      const { processed, cancelled } = sqlCounts!;
      console.log(
        `${LOG} run ${run}: cancel after ${(delayMs / 1000).toFixed(1)} s (${Math.round((delayMs / expectedRunMs) * 100)} % of the expected ${(expectedRunMs / 1000).toFixed(1)} s) → ${cancel.statusCode}; ` +
          `${done} processed at that instant; final ${status} ${(toFinalMs / 1000).toFixed(1)} s after the cancel: processed ${processed}, cancelled ${cancelled}, error ${sqlCounts!.error}`,
      );
      expect(status).toBe(expectedStatus);
      expect(final.status).toBe(expectedStatus);
      expect(final.actions).not.toContain('cancel');
      expect(final.counts).toEqual(sqlCounts);
      expect(stats?.counts).toEqual(sqlCounts);
      expect(processed! + cancelled!).toBe(DEVICES);
      if (expectedStatus === 'CANCELLED') expect(cancelled).toBeGreaterThan(0);
      else expect(processed).toBe(DEVICES);

      // Each device: all its steps and effects, or none.
      const rows = await q<{
        iccid: string;
        status: string;
        steps_done: string[];
        owner: number | null;
        owner_service: string | null;
        owner_plan: number | null;
        recorded_service: string | null;
        intents: number;
        history: number;
        logs: number;
        other_logs: number;
      }>(
        `SELECT w.iccid, w.status, w.steps_done, dt.customer_id::int AS owner, dt.rev_service_id::text AS owner_service,
                dt.customer_rate_plan_id::int AS owner_plan,
                (SELECT rs.service_id::text FROM rev_service rs WHERE rs.bulk_change_device_id = w.id AND rs.status = 'created') AS recorded_service,
                (SELECT count(*)::int FROM rev_service rs WHERE rs.bulk_change_device_id = w.id) AS intents,
                (SELECT count(*)::int FROM device_history h WHERE h.device_id = w.device_id AND h.bulk_change_id = w.bulk_change_id) AS history,
                (SELECT count(*)::int FROM change_log c WHERE c.bulk_change_device_id = w.id) AS logs,
                (SELECT count(*)::int FROM change_log c WHERE c.bulk_change_device_id = w.id AND c.description NOT ILIKE '%cancel%') AS other_logs
         FROM bulk_change_device w
         LEFT JOIN device_tenant dt ON dt.device_id = w.device_id AND dt.tenant_id = w.tenant_id
         WHERE w.bulk_change_id = $1`,
        [id],
      );
      const sim = revioSimState(world.sims.revio);
      const mine = new Set(devices);
      const services = sim.services.filter((s) => s.number2 !== null && mine.has(s.number2));
      const servicesOf = new Map<string, number[]>();
      for (const s of services)
        servicesOf.set(s.number2!, [...(servicesOf.get(s.number2!) ?? []), s.service_id]);
      const productsPerService = tally(sim.serviceProducts.map((p) => p.service_id));

      const wrong: string[] = [];
      for (const row of rows) {
        const remote = servicesOf.get(row.iccid) ?? [];
        if (row.status === 'PROCESSED') {
          const steps = ['rev_service', 'ownership', 'customer_rate_plan'];
          if (!steps.every((s) => row.steps_done.includes(s)))
            wrong.push(`${row.iccid} processed, steps ${row.steps_done.join(',')}`);
          if (remote.length !== 1) wrong.push(`${row.iccid} processed with ${remote.length} Rev.io services`);
          else {
            if (productsPerService.get(remote[0]!) !== 1)
              wrong.push(
                `${row.iccid} processed, its service has ${productsPerService.get(remote[0]!) ?? 0} products`,
              );
            if (Number(row.recorded_service) !== remote[0] || Number(row.owner_service) !== remote[0])
              wrong.push(
                `${row.iccid} processed, service ${remote[0]} recorded as ${row.recorded_service} / owned with ${row.owner_service}`,
              );
          }
          if (row.owner !== fleet.revCustomer.id || row.owner_plan !== fleet.customerRatePlan)
            wrong.push(`${row.iccid} processed, owner ${row.owner} plan ${row.owner_plan}`);
        } else if (row.status === 'CANCELLED') {
          if (row.steps_done.length > 0)
            wrong.push(`${row.iccid} cancelled, steps ${row.steps_done.join(',')}`);
          if (remote.length > 0)
            wrong.push(`${row.iccid} cancelled, billed: Rev.io services ${remote.join(',')}`);
          if (row.intents > 0) wrong.push(`${row.iccid} cancelled with ${row.intents} rev_service rows`);
          if (row.owner !== null) wrong.push(`${row.iccid} cancelled, owned by ${row.owner}`);
          if (row.history > 0) wrong.push(`${row.iccid} cancelled with ${row.history} history rows`);
          if (row.other_logs > 0)
            wrong.push(`${row.iccid} cancelled with ${row.other_logs} change-log entries`);
        } else {
          wrong.push(`${row.iccid} ended ${row.status}`);
        }
      }
      expect(wrong.slice(0, 20)).toEqual([]);
      expect(rows).toHaveLength(DEVICES);
      // Rev.io holds exactly the processed devices' services, no more.
      expect(services).toHaveLength(processed!);
      expect(new Set(services.map((s) => s.number2)).size).toBe(processed);

      // The next run's delay: this run's pace, measured up to the cancel.
      const elapsed = cancelledAt - submittedAt;
      if (done >= 200) expectedRunMs = (DEVICES * elapsed) / done;
    }, 240_000);
  }
});
