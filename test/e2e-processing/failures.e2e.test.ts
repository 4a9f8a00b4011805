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

describe('when Jasper drops its answers', () => {
  it('commit-then-drop on PUT: the plan is found applied and never sent twice', async () => {
    const devices = await freeDevices(world.database.pool, fleet.jasper, 40);
    await fault('jasper', { method: 'PUT', commitThenDrop: true, rate: 0.5 });
    const res = await postAssignment(world.app, admin, {
      serviceProviderId: fleet.jasper,
      customerId: fleet.amopCustomer.id,
      devices,
      addCarrierRatePlan: true,
      carrierRatePlan: {
        ratePlan: fleet.jasperPlan.code,
        communicationPlan: fleet.jasperPlan.communicationPlan,
      },
    });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json<{ id: number }>().id;
    expect(await waitForFinish(world, id)).toBe('PROCESSED');

    const requests = (await world.sims.jasper.inject({ method: 'GET', url: '/__sim/requests' })).json<
      { method: string; path: string }[]
    >();
    const puts = new Map<string, number>();
    for (const r of requests.filter((r) => r.method === 'PUT')) puts.set(r.path, (puts.get(r.path) ?? 0) + 1);
    expect(puts.size).toBe(40);
    expect([...puts.values()].every((n) => n === 1)).toBe(true);
    const [adopted] = await q<{ n: number }>(
      "SELECT count(*)::int AS n FROM change_log WHERE bulk_change_id = $1 AND description LIKE '%(found already applied)'",
      [id],
    );
    expect(adopted!.n).toBeGreaterThan(0);
    const [history] = await q<{ n: number; devices: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT device_id)::int AS devices FROM device_history
       WHERE bulk_change_id = $1 AND change_type = 'carrier_rate_plan'`,
      [id],
    );
    expect(history).toEqual({ n: 40, devices: 40 });
  }, 120_000);
});

describe('cancel', () => {
  it('takes effect between devices: each device has all its steps or none, and the counts say which', async () => {
    const devices = await freeDevices(world.database.pool, fleet.thingspace, 300);
    await fault('revio', { method: 'POST', path: '/v1/Services', latencyMs: 40 });
    const id = await submitRev(devices);
    // wait until some devices are done, then cancel mid-way
    for (let i = 0; i < 300; i += 1) {
      const [row] = await q<{ n: number }>(
        "SELECT count(*)::int AS n FROM bulk_change_device WHERE bulk_change_id = $1 AND status = 'PROCESSED'",
        [id],
      );
      if (row!.n > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const before = await world.app.inject({
      method: 'GET',
      url: `/api/v1/bulk-changes/${id}`,
      headers: admin,
    });
    expect(before.json<{ actions: string[] }>().actions).toContain('cancel');
    const cancel = await world.app.inject({
      method: 'POST',
      url: `/api/v1/bulk-changes/${id}/cancel`,
      headers: admin,
    });
    expect(cancel.statusCode, cancel.body).toBe(202);
    const after = await world.app.inject({
      method: 'GET',
      url: `/api/v1/bulk-changes/${id}`,
      headers: admin,
    });
    const afterView = after.json<{ actions: string[]; cancelRequestedAt: string | null }>();
    expect(afterView.actions).toEqual([]);
    expect(afterView.cancelRequestedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await waitForFinish(world, id)).toBe('CANCELLED');

    const rows = await q<{ iccid: string; status: string; steps_done: string[]; owner: number | null }>(
      `SELECT w.iccid, w.status, w.steps_done, dt.customer_id AS owner
       FROM bulk_change_device w LEFT JOIN device_tenant dt ON dt.device_id = w.device_id AND dt.tenant_id = w.tenant_id
       WHERE w.bulk_change_id = $1`,
      [id],
    );
    const processed = rows.filter((r) => r.status === 'PROCESSED');
    const cancelled = rows.filter((r) => r.status === 'CANCELLED');
    expect(processed.length + cancelled.length).toBe(300);
    expect(processed.length).toBeGreaterThan(0);
    expect(cancelled.length).toBeGreaterThan(0);
    // all steps for a processed device: its Rev.io service, and the customer owns it
    const services = servicesPerIccid();
    for (const r of processed) {
      expect(r.steps_done).toEqual(['rev_service', 'ownership']);
      expect(services.get(r.iccid)).toBe(1);
      expect(r.owner).toBe(fleet.revCustomer.id);
    }
    // none for a cancelled one: no service in Rev.io (not billed), no ownership
    for (const r of cancelled) {
      expect(r.steps_done).toEqual([]);
      expect(services.get(r.iccid)).toBeUndefined();
      expect(r.owner).not.toBe(fleet.revCustomer.id);
    }
    expect(revioSimState(world.sims.revio).services.length).toBe(processed.length);
    const [stats] = await q<{ counts: { processed: number; cancelled: number } }>(
      "SELECT stats->'counts' AS counts FROM bulk_change WHERE id = $1",
      [id],
    );
    expect(stats!.counts).toMatchObject({ processed: processed.length, cancelled: cancelled.length });

    const again = await world.app.inject({
      method: 'POST',
      url: `/api/v1/bulk-changes/${id}/cancel`,
      headers: admin,
    });
    expect(again.statusCode).toBe(409);
  }, 180_000);

  it('answers that nothing is left to cancel once every device has begun, and the change ends PROCESSED', async () => {
    const devices = await freeDevices(world.database.pool, fleet.thingspace, 5);
    await fault('revio', { method: 'POST', path: '/v1/Services', latencyMs: 1500 });
    const id = await submitRev(devices);
    // all 5 fit in one group: once claimed, every device has begun
    for (let i = 0; i < 200; i += 1) {
      const [row] = await q<{ n: number }>(
        "SELECT count(*)::int AS n FROM bulk_change_device WHERE bulk_change_id = $1 AND status = 'PROCESSING'",
        [id],
      );
      if (row!.n === 5) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const view = await world.app.inject({ method: 'GET', url: `/api/v1/bulk-changes/${id}`, headers: admin });
    expect(view.json<{ actions: string[] }>().actions).toEqual([]);
    const cancel = await world.app.inject({
      method: 'POST',
      url: `/api/v1/bulk-changes/${id}/cancel`,
      headers: admin,
    });
    expect(cancel.statusCode).toBe(409);
    expect(cancel.json<{ error: { message: string } }>().error.message).toMatch(/Nothing left to cancel/);
    expect(await waitForFinish(world, id)).toBe('PROCESSED');
  }, 60_000);
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
