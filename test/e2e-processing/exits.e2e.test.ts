import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { authHeaders } from '../helpers/auth.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';
import { createWorld, waitForFinish, type World } from '../helpers/world.ts';
import { postAssignment } from '../helpers/assignments.ts';

/**
 * Every open state has an exit: a chunk job that runs out of retries, a carrier that never
 * confirms, a cancel while devices wait for a carrier. Each ends in a final status that says why.
 */

let world: World;
let fleet: Fleet;
let admin: { authorization: string };

beforeAll(async () => {
  world = await createWorld({ devices: 2000 });
  fleet = await loadFleet(world.database.pool);
  admin = await authHeaders(world.database.db, 'admin@northwind.example');
}, 120_000);
afterAll(async () => {
  await world?.close();
});
beforeEach(async () => {
  for (const sim of Object.values(world.sims)) await sim.inject({ method: 'POST', url: '/__sim/reset' });
});

const q = async <T>(text: string, values: unknown[] = []) =>
  (await world.database.pool.query(text, values)).rows as T[];

async function submit(body: Record<string, unknown>): Promise<number> {
  const res = await postAssignment(world.app, admin, body);
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ id: number }>().id;
}

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const statuses = (id: number) =>
  q<{ status: string; error_category: string | null; message: string | null; retryable: boolean }>(
    'SELECT status, error_category, message, retryable FROM bulk_change_device WHERE bulk_change_id = $1 ORDER BY id',
    [id],
  );

describe('a chunk job that runs out of retries', () => {
  it('ends its devices ERROR / internal with the last error, logged; retry failed finishes them', async () => {
    const devices = await freeDevices(world.database.pool, fleet.jasper, 8);
    // A fault that outlives every attempt: the database refuses to start these devices (on the
    // AMOP path a group is claimed and finished in one write: PENDING → PROCESSED).
    await world.database.pool.query(`
      CREATE FUNCTION refuse_start() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'injected fault: the disk is full'; END $$;
      CREATE TRIGGER refuse_start BEFORE UPDATE ON bulk_change_device FOR EACH ROW
        WHEN (NEW.status IN ('PROCESSING', 'PROCESSED') AND NEW.iccid = ANY ('{${devices.join(',')}}'::text[]))
        EXECUTE FUNCTION refuse_start();
    `);
    // Two attempts, one second apart, instead of the production 21 over hours.
    await world.database.pool.query(
      "UPDATE pgboss.queue SET retry_limit = 1, retry_delay = 1, retry_backoff = false WHERE name = 'bulk-change.process-chunk'",
    );
    try {
      const id = await submit({
        serviceProviderId: fleet.jasper,
        customerId: fleet.amopCustomer.id,
        devices,
      });
      expect(await waitForFinish(world, id, 60_000)).toBe('ERROR');
      const rows = await statuses(id);
      expect(rows).toHaveLength(8);
      for (const row of rows) {
        expect(row).toMatchObject({ status: 'ERROR', error_category: 'internal', retryable: true });
        expect(row.message).toMatch(/gave up .*injected fault: the disk is full/);
      }
      const [logs] = await q<{ n: number }>(
        "SELECT count(*)::int AS n FROM change_log WHERE bulk_change_id = $1 AND description = 'Processing: gave up' AND has_error",
        [id],
      );
      expect(logs!.n).toBe(8);
      const view = await world.app.inject({
        method: 'GET',
        url: `/api/v1/bulk-changes/${id}`,
        headers: admin,
      });
      expect(view.json<{ actions: string[] }>().actions).toEqual(['retry']);

      await world.database.pool.query('DROP TRIGGER refuse_start ON bulk_change_device');
      const retry = await world.app.inject({
        method: 'POST',
        url: `/api/v1/bulk-changes/${id}/retry`,
        headers: admin,
      });
      expect(retry.statusCode, retry.body).toBe(202);
      expect(await waitForFinish(world, id, 60_000)).toBe('PROCESSED');
    } finally {
      await world.database.pool.query('DROP TRIGGER IF EXISTS refuse_start ON bulk_change_device');
      await world.database.pool.query('DROP FUNCTION IF EXISTS refuse_start()');
      await world.database.pool.query(
        "UPDATE pgboss.queue SET retry_limit = 20, retry_delay = 2, retry_backoff = true WHERE name = 'bulk-change.process-chunk'",
      );
    }
  }, 120_000);
});

describe('a carrier that never confirms', () => {
  const neverSettle = () =>
    world.sims.thingspace.inject({
      method: 'POST',
      url: '/__sim/plan-changes',
      payload: { settle: 'never' },
    });

  async function submitWaiting(count: number): Promise<{ id: number; devices: string[] }> {
    const devices = await freeDevices(world.database.pool, fleet.thingspace, count);
    const id = await submit({
      serviceProviderId: fleet.thingspace,
      customerId: fleet.amopCustomer.id,
      devices,
      addCarrierRatePlan: true,
      carrierRatePlan: { ratePlan: fleet.thingspacePlan },
    });
    await waitFor('devices waiting for ThingSpace', async () => {
      const [row] = await q<{ n: number }>(
        "SELECT count(*)::int AS n FROM bulk_change_device WHERE bulk_change_id = $1 AND status = 'WAITING_CARRIER'",
        [id],
      );
      return row!.n === count;
    });
    return { id, devices };
  }

  it('ends the wait at its deadline with ERROR / integration saying so; the poll was queued', async () => {
    await neverSettle();
    const { id } = await submitWaiting(4);
    const [deadline] = await q<{ minutes: number }>(
      `SELECT round(extract(epoch FROM min(carrier_deadline) - now()) / 60)::int AS minutes
       FROM bulk_change_device WHERE bulk_change_id = $1`,
      [id],
    );
    expect(deadline!.minutes).toBe(world.config.worker.carrierConfirmMinutes);
    const [poll] = await q<{ n: number }>(
      "SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'carrier.poll' AND state = 'created' AND data->>'bulkChangeId' = $1",
      [String(id)],
    );
    expect(poll!.n).toBe(1);

    // A day later: the next poll finds the deadline passed.
    await world.database.pool.query(
      "UPDATE bulk_change_device SET carrier_deadline = now() - interval '1 second' WHERE bulk_change_id = $1",
      [id],
    );
    await world.services.processing.pollCarrier(id, 3);
    expect(await waitForFinish(world, id)).toBe('ERROR');
    for (const row of await statuses(id)) {
      expect(row).toMatchObject({ status: 'ERROR', error_category: 'integration', retryable: false });
      expect(row.message).toMatch(/^No confirmation from ThingSpace after 24 h \(request [\w-]+\)/);
    }
    const [logs] = await q<{ n: number }>(
      "SELECT count(*)::int AS n FROM change_log WHERE bulk_change_id = $1 AND description LIKE '%(not confirmed)' AND has_error",
      [id],
    );
    expect(logs!.n).toBe(4);
  }, 60_000);

  it('is ended by a cancel: the waits end with a message, and the change ends CANCELLED', async () => {
    await neverSettle();
    const { id } = await submitWaiting(3);
    const view = await world.app.inject({ method: 'GET', url: `/api/v1/bulk-changes/${id}`, headers: admin });
    expect(view.json<{ actions: string[] }>().actions).toEqual(['cancel']);
    const cancel = await world.app.inject({
      method: 'POST',
      url: `/api/v1/bulk-changes/${id}/cancel`,
      headers: admin,
    });
    expect(cancel.statusCode, cancel.body).toBe(202);
    expect(await waitForFinish(world, id)).toBe('CANCELLED');
    for (const row of await statuses(id)) {
      expect(row).toMatchObject({ status: 'ERROR', error_category: 'integration' });
      expect(row.message).toMatch(/^Bulk change cancelled while waiting for ThingSpace/);
    }
  }, 60_000);
});
