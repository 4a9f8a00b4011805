import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JasperSimState } from '../../simulators/jasper.simulator.ts';
import { revioSimState } from '../../simulators/revio.simulator.ts';
import { authHeaders } from '../helpers/auth.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';
import { createWorld, waitForFinish, type World } from '../helpers/world.ts';

/**
 * Undo of a bulk change (issue 16), for real: 200 Jasper devices assigned to a Rev.io customer (a
 * service line and two products each, a customer rate plan, a Jasper carrier plan), 20 of them taken
 * from another customer; one device changed again by a later bulk change; then the undo, processed
 * by the worker against the simulators. Every device but the changed one must end exactly as it was
 * before the assignment (compared with a snapshot taken then), every Rev.io line and product the
 * assignment created disconnected by exactly one request, and the changed device left alone.
 */

const TODAY = '2026-11-22';
let world: World;
let fleet: Fleet;
let admin: { authorization: string };

beforeAll(async () => {
  world = await createWorld({ devices: 3000, today: TODAY });
  fleet = await loadFleet(world.database.pool);
  admin = await authHeaders(world.database.db, 'admin@northwind.example');
}, 120_000);
afterAll(async () => {
  await world?.close();
});

const q = async <T>(text: string, values: unknown[] = []) =>
  (await world.database.pool.query(text, values)).rows as T[];

async function submit(body: Record<string, unknown>) {
  const res = await postAssignment(world.app, admin, body);
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ id: number }>().id;
}

function undo(id: number, body?: Record<string, unknown>, headers: Record<string, string> = {}) {
  return world.app.inject({
    method: 'POST',
    url: `/api/v1/bulk-changes/${id}/undo`,
    headers: { ...admin, ...headers },
    ...(body ? { payload: body } : {}),
  });
}

/** Everything the undo must put back: ownership, customer plan and carrier plan, per ICCID. */
async function snapshot(iccids: string[]) {
  const rows = await q<Record<string, unknown> & { iccid: string }>(
    `SELECT d.iccid, d.carrier_rate_plan, d.communication_plan, dt.id IS NOT NULL AS owned, dt.customer_id,
            dt.site_id, dt.account_number, dt.rev_credentials_id, dt.rev_service_id, dt.customer_rate_plan_id,
            dt.customer_rate_pool_id, dt.data_allocation_mb, dt.is_active, dt.is_deleted
     FROM device d LEFT JOIN device_tenant dt ON dt.device_id = d.id
     WHERE d.iccid = ANY($1) ORDER BY d.iccid`,
    [iccids],
  );
  return new Map(rows.map((r) => [r.iccid, r]));
}

async function jasperPlans() {
  const state = (
    await world.sims.jasper.inject({ method: 'GET', url: '/__sim/state' })
  ).json<JasperSimState>();
  return new Map(state.devices.map((d) => [d.iccid, `${d.ratePlan}/${d.communicationPlan}`]));
}

describe('undo of a 200-device assignment', () => {
  let original: number;
  let later: number;
  let devices: string[];
  let changed: string;
  let before: Awaited<ReturnType<typeof snapshot>>;

  it('assigns 200 devices (20 taken from another customer), and changes one again later', async () => {
    devices = await freeDevices(world.database.pool, fleet.jasper, 200);
    // 20 devices belong to an AMOP customer first, with a rate pool: the undo must give them back.
    const earlier = await submit({
      serviceProviderId: fleet.jasper,
      customerId: fleet.amopCustomer.id,
      devices: devices.slice(0, 20),
      addCustomerRatePlan: true,
      customerRatePlan: { ratePoolId: fleet.customerRatePool },
    });
    expect(await waitForFinish(world, earlier)).toBe('PROCESSED');
    before = await snapshot(devices);
    expect([...before.values()].filter((d) => d.owned)).toHaveLength(20);

    original = await submit({
      serviceProviderId: fleet.jasper,
      customerId: fleet.revCustomer.id,
      devices,
      reassign: true,
      createRevService: true,
      revService: {
        serviceTypeId: 3,
        products: [
          { productId: 11, rate: 4.5 },
          { productId: 12, rate: 1.25 },
        ],
      },
      addCustomerRatePlan: true,
      customerRatePlan: { ratePlanId: fleet.customerRatePlan },
      addCarrierRatePlan: true,
      carrierRatePlan: { ratePlan: 'IOT-10MB-SMS', communicationPlan: 'CP-Data-SMS' },
    });
    expect(await waitForFinish(world, original)).toBe('PROCESSED');
    const assigned = await snapshot(devices);
    for (const iccid of devices) {
      expect(assigned.get(iccid)).toMatchObject({
        customer_id: fleet.revCustomer.id,
        carrier_rate_plan: 'IOT-10MB-SMS',
      });
    }

    // A later bulk change touches one device (same customer: a Rev.io line blocks any other).
    changed = devices[150]!;
    later = await submit({
      serviceProviderId: fleet.jasper,
      customerId: fleet.revCustomer.id,
      devices: [changed],
      createRevService: false,
      addCustomerRatePlan: true,
      customerRatePlan: { ratePoolId: fleet.customerRatePool },
    });
    expect(await waitForFinish(world, later)).toBe('PROCESSED');
  });

  it('dry run: says what would be done, and writes nothing', async () => {
    const countsBefore = await q<{ n: number }>('SELECT count(*)::int AS n FROM bulk_change');
    const res = await undo(original, { dryRun: true });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      dryRun: true,
      undoOf: original,
      counts: {
        total: 200,
        restorable: 199,
        conflicts: 1,
        revServices: 199,
        revServiceProducts: 398,
        carrierPlans: 199,
      },
      conflicts: [
        { identifier: changed, message: expect.stringContaining(`bulk change ${later}`) as string },
      ],
    });
    expect(await q('SELECT count(*)::int AS n FROM bulk_change')).toEqual(countsBefore);
    expect(
      await q(
        "SELECT 1 FROM rev_service WHERE status = 'disconnected' OR disconnect_work_order_id IS NOT NULL",
      ),
    ).toEqual([]);
    expect(revioSimState(world.sims.revio).disconnects).toEqual({ services: {}, serviceProducts: {} });
  });

  it('puts every device back as it was, disconnects each line once, and leaves the changed device alone', async () => {
    const key = { 'idempotency-key': `undo-${original}` };
    const first = await undo(original, undefined, key);
    expect(first.statusCode, first.body).toBe(202);
    const id = first.json<{ id: number }>().id;
    const again = await undo(original, undefined, key);
    expect(again.statusCode, again.body).toBe(202);
    expect(again.json<{ id: number }>().id).toBe(id);

    expect(await waitForFinish(world, id)).toBe('PROCESSED_WITH_ERRORS');

    const after = await snapshot(devices);
    const plans = await jasperPlans();
    for (const iccid of devices) {
      if (iccid === changed) continue;
      expect(after.get(iccid), iccid).toEqual(before.get(iccid));
      const was = before.get(iccid)!;
      expect(plans.get(iccid), iccid).toBe(
        `${String(was.carrier_rate_plan)}/${String(was.communication_plan)}`,
      );
    }
    // The changed device keeps what the later bulk change left.
    expect(after.get(changed)).toMatchObject({
      customer_id: fleet.revCustomer.id,
      customer_rate_pool_id: fleet.customerRatePool,
      carrier_rate_plan: 'IOT-10MB-SMS',
    });

    // Rev.io: every line and product the assignment created is disconnected, by one request each.
    const created = await q<{ iccid: string; service_id: number; status: string; products: number[] }>(
      `SELECT rs.number2 AS iccid, rs.service_id::int, rs.status,
              array_agg(p.service_product_id::int ORDER BY p.id) AS products
       FROM rev_service rs JOIN bulk_change_device w ON w.id = rs.bulk_change_device_id
       JOIN rev_service_product p ON p.rev_service_id = rs.id
       WHERE w.bulk_change_id = $1 GROUP BY 1, 2, 3`,
      [original],
    );
    expect(created).toHaveLength(200);
    const sim = revioSimState(world.sims.revio);
    for (const line of created) {
      const remote = sim.services.find((s) => s.service_id === line.service_id)!;
      const remoteProducts = sim.serviceProducts.filter((p) => line.products.includes(p.service_product_id));
      expect(remoteProducts).toHaveLength(2);
      if (line.iccid === changed) {
        expect(line.status).toBe('created');
        expect(remote.disconnected_date).toBeNull();
        expect(sim.disconnects.services[line.service_id]).toBeUndefined();
        continue;
      }
      expect(line.status).toBe('disconnected');
      expect(remote.disconnected_date).toBe(`${TODAY}T00:00:00`);
      expect(sim.disconnects.services[line.service_id], `service ${line.service_id}`).toBe(1);
      for (const product of remoteProducts) {
        expect(product.status).toBe('DISCONNECTED');
        expect(sim.disconnects.serviceProducts[product.service_product_id]).toBe(1);
      }
    }
    // No live line is left for a device that had none before.
    const live = sim.services.filter(
      (s) => s.disconnected_date === null && devices.includes(s.number2 ?? '') && s.number2 !== changed,
    );
    expect(live).toEqual([]);

    // Counts, the changed device's work order, the links both ways, and the notification.
    const view = (
      await world.app.inject({ method: 'GET', url: `/api/v1/bulk-changes/${id}`, headers: admin })
    ).json<{
      changeType: string;
      undoOf: number;
      counts: { total: number; processed: number; error: number };
      actions: string[];
    }>();
    expect(view).toMatchObject({
      changeType: 'undo',
      undoOf: original,
      counts: { total: 200, processed: 199, error: 1 },
    });
    expect(view.actions).not.toContain('undo');
    const orig = (
      await world.app.inject({ method: 'GET', url: `/api/v1/bulk-changes/${original}`, headers: admin })
    ).json<{ undoneBy: number; actions: string[] }>();
    expect(orig.undoneBy).toBe(id);
    expect(orig.actions).not.toContain('undo');
    const failed = await q<{ identifier: string; error_category: string; message: string }>(
      "SELECT identifier, error_category, message FROM bulk_change_device WHERE bulk_change_id = $1 AND status = 'ERROR'",
      [id],
    );
    expect(failed).toEqual([
      {
        identifier: changed,
        error_category: 'eligibility',
        message: expect.stringContaining(`bulk change ${later}`) as string,
      },
    ]);
    const logs = await q<{ description: string; n: number }>(
      'SELECT description, count(*)::int AS n FROM change_log WHERE bulk_change_id = $1 GROUP BY 1',
      [id],
    );
    expect(Object.fromEntries(logs.map((l) => [l.description, l.n]))).toMatchObject({
      'Undo: Validate Device': 1,
      'Undo: Disconnect Rev.io Service: Rev.io API': 199,
      'Undo: Disconnect Rev.io Service Product: Rev.io API': 398,
      'Undo: Restore AMOP Ownership': 20,
      'Undo: Remove AMOP Ownership (the device had no owner before)': 179,
      'Carrier Rate Plan: Carrier API': 199,
    });
    // Notified like any bulk change (queued with the finish).
    expect(
      await q('SELECT channel, event FROM notification_delivery WHERE bulk_change_id = $1 ORDER BY channel', [
        id,
      ]),
    ).toEqual([
      { channel: 'email', event: 'bulk_change.completed' },
      { channel: 'webhook', event: 'bulk_change.completed' },
    ]);
  });

  it('refuses an undo of an undo, and a second undo', async () => {
    const { rows } = await world.database.pool.query<{ id: number }>(
      'SELECT id FROM bulk_change WHERE undo_of = $1',
      [original],
    );
    const undoOfUndo = await undo(rows[0]!.id);
    expect(undoOfUndo.statusCode).toBe(409);
    expect(undoOfUndo.json<{ error: { message: string } }>().error.message).toMatch(
      /an undo cannot be undone/,
    );
    const second = await undo(original);
    expect(second.statusCode).toBe(409);
    expect(second.json<{ error: { message: string } }>().error.message).toMatch(
      /already undone by bulk change/,
    );
  });

  it('refuses an undo while the original is still running', async () => {
    // Rev.io holds every create: the bulk change stays PROCESSING until the fault is lifted.
    await world.sims.revio.inject({
      method: 'POST',
      url: '/__sim/faults',
      payload: { method: 'POST', path: '/v1/Services', hang: true },
    });
    const running = await submit({
      serviceProviderId: fleet.jasper,
      customerId: fleet.revCustomer.id,
      devices: await freeDevices(world.database.pool, fleet.jasper, 2),
      createRevService: true,
      revService: { serviceTypeId: 3, packageId: 77 },
    });
    const deadline = Date.now() + 30_000;
    while (
      (await q<{ status: string }>('SELECT status FROM bulk_change WHERE id = $1', [running]))[0]!.status !==
      'PROCESSING'
    ) {
      if (Date.now() > deadline) throw new Error('the bulk change never started');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const refused = await undo(running);
    expect(refused.statusCode).toBe(409);
    expect(refused.json<{ error: { message: string } }>().error.message).toMatch(
      /still running .*cancel it first/,
    );
    expect(await q('SELECT id FROM bulk_change WHERE undo_of = $1', [running])).toEqual([]);
    await world.sims.revio.inject({ method: 'DELETE', url: '/__sim/faults' });
    expect(await waitForFinish(world, running)).toBe('PROCESSED');
  });
});
