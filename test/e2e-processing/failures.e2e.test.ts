import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { revioSimState } from '../../simulators/revio.simulator.ts';
import type { FaultRule } from '../../simulators/sim-control.ts';
import { authHeaders } from '../helpers/auth.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';
import { createWorld, waitForFinish, type World } from '../helpers/world.ts';
import { postAssignment } from '../helpers/assignments.ts';

/** What happens when the outside world misbehaves: each case against the simulators' faults. */

const TODAY = '2026-11-22';
let world: World;
let fleet: Fleet;
let admin: { authorization: string };

beforeAll(async () => {
  world = await createWorld({ devices: 6000, today: TODAY });
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

async function fault(sim: keyof World['sims'], rule: FaultRule) {
  await world.sims[sim].inject({ method: 'POST', url: '/__sim/faults', payload: rule });
}

async function submitRev(devices: string[], extra: Record<string, unknown> = {}) {
  const res = await postAssignment(world.app, admin, {
    serviceProviderId: fleet.thingspace,
    customerId: fleet.revCustomer.id,
    devices,
    createRevService: true,
    revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 2 }] },
    ...extra,
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ id: number }>().id;
}

/** Rev.io services per ICCID in the simulator: exactly one each is the invariant. */
function servicesPerIccid(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of revioSimState(world.sims.revio).services)
    counts.set(s.number2 ?? '', (counts.get(s.number2 ?? '') ?? 0) + 1);
  return counts;
}

describe('when Rev.io misbehaves', () => {
  it('commit-then-drop on POST /Services: every device still ends with exactly one Rev.io service', async () => {
    const devices = await freeDevices(world.database.pool, fleet.thingspace, 120);
    await fault('revio', { method: 'POST', path: '/v1/Services', commitThenDrop: true, rate: 0.5 });
    const id = await submitRev(devices);
    expect(await waitForFinish(world, id)).toBe('PROCESSED');

    const perIccid = servicesPerIccid();
    expect(devices.map((iccid) => perIccid.get(iccid))).toEqual(devices.map(() => 1));
    const dropped = (
      await world.sims.revio.inject({ method: 'GET', url: '/__sim/requests?path=/v1/Services' })
    ).json<{ method: string }[]>();
    // the fault really fired: answers were lost, and each loss was resolved by a lookup that found
    // the service instead of a second create
    const adopted = await q<{ n: number }>(
      `SELECT count(*)::int AS n FROM change_log WHERE bulk_change_id = $1 AND description LIKE '%found after a lost answer%'`,
      [id],
    );
    expect(adopted[0]!.n).toBeGreaterThan(10);
    expect(dropped.filter((r) => r.method === 'GET').length).toBeGreaterThanOrEqual(adopted[0]!.n);
    expect(dropped.filter((r) => r.method === 'POST')).toHaveLength(devices.length);
    const rows = await q<{ n: number; distinct_services: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT service_id)::int AS distinct_services FROM rev_service rs
       JOIN bulk_change_device w ON w.id = rs.bulk_change_device_id WHERE w.bulk_change_id = $1 AND rs.status = 'created'`,
      [id],
    );
    expect(rows[0]).toEqual({ n: 120, distinct_services: 120 });
  }, 180_000);

  it('500s: those devices end ERROR/integration with the remote message, the rest PROCESSED; retry finishes them', async () => {
    const devices = await freeDevices(world.database.pool, fleet.thingspace, 100);
    await fault('revio', { method: 'POST', path: '/v1/Services', status: 500, rate: 0.6 });
    const id = await submitRev(devices);
    expect(await waitForFinish(world, id)).toBe('PROCESSED_WITH_ERRORS');

    const outcome = await q<{
      status: string;
      error_category: string | null;
      retryable: boolean;
      message: string | null;
      n: number;
    }>(
      `SELECT status, error_category, retryable, left(message, 60) AS message, count(*)::int AS n FROM bulk_change_device
       WHERE bulk_change_id = $1 GROUP BY 1, 2, 3, 4 ORDER BY 1`,
      [id],
    );
    const failed = outcome.find((o) => o.status === 'ERROR');
    const processed = outcome.find((o) => o.status === 'PROCESSED');
    expect(failed).toMatchObject({ error_category: 'integration', retryable: true });
    expect(failed!.message).toMatch(/^Rev\.io service not created: revio 500/);
    expect(failed!.n + processed!.n).toBe(100);
    // failed devices were not assigned: billing failed, so nothing after it ran for them
    const assignedFailed = await q<{ n: number }>(
      `SELECT count(*)::int AS n FROM bulk_change_device w JOIN device_tenant dt ON dt.device_id = w.device_id
       WHERE w.bulk_change_id = $1 AND w.status = 'ERROR'`,
      [id],
    );
    expect(assignedFailed[0]!.n).toBe(0);

    await world.sims.revio.inject({ method: 'DELETE', url: '/__sim/faults' });
    const retry = await world.app.inject({
      method: 'POST',
      url: `/api/v1/bulk-changes/${id}/retry`,
      headers: admin,
    });
    expect(retry.statusCode, retry.body).toBe(202);
    expect(await waitForFinish(world, id)).toBe('PROCESSED');
    const perIccid = servicesPerIccid();
    expect(devices.map((iccid) => perIccid.get(iccid))).toEqual(devices.map(() => 1));

    // nothing left to retry
    const again = await world.app.inject({
      method: 'POST',
      url: `/api/v1/bulk-changes/${id}/retry`,
      headers: admin,
    });
    expect(again.statusCode).toBe(409);
  }, 180_000);

  it('429s with Retry-After are waited out, not counted as failures', async () => {
    const devices = await freeDevices(world.database.pool, fleet.thingspace, 40);
    await fault('revio', {
      method: 'POST',
      path: '/v1/Services',
      status: 429,
      retryAfterSeconds: 1,
      count: 12,
    });
    const id = await submitRev(devices);
    expect(await waitForFinish(world, id)).toBe('PROCESSED');
    const requests = (
      await world.sims.revio.inject({ method: 'GET', url: '/__sim/requests?path=/v1/Services' })
    ).json<{ status: number }[]>();
    expect(requests.filter((r) => r.status === 429)).toHaveLength(12);
    const perIccid = servicesPerIccid();
    expect(devices.map((iccid) => perIccid.get(iccid))).toEqual(devices.map(() => 1));
  }, 180_000);
});

describe('cancel', () => {
  it('stops the devices not yet started; those in flight finish their step', async () => {
    const devices = await freeDevices(world.database.pool, fleet.jasper, 300);
    await fault('jasper', { method: 'PUT', latencyMs: 40 });
    const res = await postAssignment(world.app, admin, {
      serviceProviderId: fleet.jasper,
      customerId: fleet.amopCustomer.id,
      devices,
      addCarrierRatePlan: true,
      carrierRatePlan: { ratePlan: 'IOT-100MB' },
    });
    const id = res.json<{ id: number }>().id;
    // wait until a worker has started on it
    for (let i = 0; i < 100; i += 1) {
      const [row] = await q<{ status: string }>('SELECT status FROM bulk_change WHERE id = $1', [id]);
      if (row!.status === 'PROCESSING') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const cancel = await world.app.inject({
      method: 'POST',
      url: `/api/v1/bulk-changes/${id}/cancel`,
      headers: admin,
    });
    expect(cancel.statusCode, cancel.body).toBe(202);
    expect(await waitForFinish(world, id)).toBe('CANCELLED');

    const [counts] = await q<{ processed: number; cancelled: number; open: number }>(
      `SELECT count(*) FILTER (WHERE status = 'PROCESSED')::int AS processed, count(*) FILTER (WHERE status = 'CANCELLED')::int AS cancelled,
              count(*) FILTER (WHERE status IN ('PENDING', 'PROCESSING', 'WAITING_CARRIER'))::int AS open
       FROM bulk_change_device WHERE bulk_change_id = $1`,
      [id],
    );
    expect(counts!.open).toBe(0);
    expect(counts!.cancelled).toBeGreaterThanOrEqual(100);
    expect(counts!.processed + counts!.cancelled).toBe(300);
    // a cancelled device got no carrier plan change
    const jasperEdits = (await world.sims.jasper.inject({ method: 'GET', url: '/__sim/requests' })).json<
      { method: string }[]
    >();
    expect(jasperEdits.filter((r) => r.method === 'PUT').length).toBeLessThanOrEqual(counts!.processed + 10);

    const again = await world.app.inject({
      method: 'POST',
      url: `/api/v1/bulk-changes/${id}/cancel`,
      headers: admin,
    });
    expect(again.statusCode).toBe(409);
  }, 180_000);
});

describe('a customer rate plan dated in the future', () => {
  it('is scheduled by the worker and applied on its date, not before', async () => {
    const devices = await freeDevices(world.database.pool, fleet.thingspace, 30);
    const res = await postAssignment(world.app, admin, {
      serviceProviderId: fleet.thingspace,
      customerId: fleet.amopCustomer.id,
      devices,
      addCustomerRatePlan: true,
      customerRatePlan: { ratePlanId: fleet.customerRatePlan },
      effectiveDate: '2026-12-01',
    });
    const id = res.json<{ id: number }>().id;
    expect(await waitForFinish(world, id)).toBe('PROCESSED');
    const planned = () =>
      q<{ n: number }>(
        `SELECT count(*)::int AS n FROM device_tenant dt JOIN device d ON d.id = dt.device_id
         WHERE d.iccid = ANY($1) AND dt.customer_rate_plan_id = $2`,
        [devices, fleet.customerRatePlan],
      ).then((r) => r[0]!.n);
    expect(await planned()).toBe(0);

    expect(await world.services.ratePlanSchedule.applyDue('2026-11-30')).toMatchObject({ applied: 0 });
    expect(await planned()).toBe(0);
    expect(await world.services.ratePlanSchedule.applyDue('2026-12-01')).toMatchObject({ applied: 30 });
    expect(await planned()).toBe(30);
  });
});
