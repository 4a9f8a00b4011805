import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JasperSimState } from '../../simulators/jasper.simulator.ts';
import { DEMO_THINGSPACE_ACCOUNT } from '../../src/db/repositories/seed.repository.ts';
import { freeDevices, type Fleet } from '../helpers/fleet.ts';
import { assignProcessed, dayFromNow, openFleetWorld } from '../helpers/fleet-world.ts';
import { waitForFinish, type World } from '../helpers/world.ts';

/**
 * Undo of a bulk change (issue 16), the carrier paths undo.e2e.test.ts does not take:
 * - ThingSpace plan changes are confirmed later (callback or poll): the undo sends each device's
 *   own previous plan, waits (WAITING_CARRIER) with the device row untouched, and ends PROCESSED
 *   when the simulator confirms; a refused confirmation ends that device ERROR with the carrier's
 *   reason and leaves its plan as it is.
 * - A future-dated original (carrier plan and customer rate plan scheduled for a later day, not yet
 *   run): the undo cancels both scheduled changes, and the scheduler applies nothing of them on
 *   their day.
 */

const LATER = dayFromNow(20);

let world: World;
let fleet: Fleet;
let admin: { authorization: string };

beforeAll(async () => {
  ({ world, fleet, admin } = await openFleetWorld());
}, 120_000);
afterAll(async () => {
  await world?.close();
});

const q = async <T>(text: string, values: unknown[] = []) =>
  (await world.database.pool.query(text, values)).rows as T[];

const assign = (body: Record<string, unknown>) => assignProcessed({ world, fleet, admin }, body);

async function undo(id: number): Promise<number> {
  const res = await world.app.inject({
    method: 'POST',
    url: `/api/v1/bulk-changes/${id}/undo`,
    headers: admin,
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ id: number }>().id;
}

/** Carrier plan and ownership per ICCID, as the database has them. */
async function devicesOf(iccids: string[]) {
  const rows = await q<{
    iccid: string;
    plan: string | null;
    comm: string | null;
    owned: boolean;
    customer_rate_plan_id: number | null;
  }>(
    `SELECT d.iccid, d.carrier_rate_plan AS plan, d.communication_plan AS comm, dt.id IS NOT NULL AS owned,
            dt.customer_rate_plan_id
     FROM device d LEFT JOIN device_tenant dt ON dt.device_id = d.id
     WHERE d.iccid = ANY($1) ORDER BY d.iccid`,
    [iccids],
  );
  return new Map(rows.map((r) => [r.iccid, r]));
}

async function thingspaceState() {
  return (await world.sims.thingspace.inject({ method: 'GET', url: '/__sim/state' })).json<{
    requests: { requestId: string; iccids: string[]; servicePlan: string; status: string }[];
    devices: { iccid: string; servicePlan: string; scheduledPlan?: { servicePlan: string } }[];
  }>();
}

async function workOrders(bulkChangeId: number) {
  return q<{ iccid: string; status: string; error_category: string | null; message: string | null }>(
    `SELECT iccid, status, error_category, message FROM bulk_change_device WHERE bulk_change_id = $1 ORDER BY iccid`,
    [bulkChangeId],
  );
}

describe('undo of a ThingSpace carrier plan change', () => {
  let devices: string[];
  /** The one device ThingSpace refuses to change back (its fifth plan change this month). */
  let refused: string;
  const beforePlan = (i: number) => (i % 2 === 0 ? 'M2M-25MB' : 'M2M-UNL');

  it('sends each device its own previous plan, waits for ThingSpace, and ends as ThingSpace confirms', async () => {
    devices = await freeDevices(world.database.pool, fleet.thingspace, 6);
    refused = devices[5]!;
    // Two different plans before, in the database and at ThingSpace alike; the refused device has
    // had three plan changes this month, so the original's is its fourth and the undo's is refused.
    await q('UPDATE device SET carrier_rate_plan = $2 WHERE iccid = ANY($1)', [
      devices.filter((_, i) => i % 2 === 0),
      beforePlan(0),
    ]);
    await q('UPDATE device SET carrier_rate_plan = $2 WHERE iccid = ANY($1)', [
      devices.filter((_, i) => i % 2 === 1),
      beforePlan(1),
    ]);
    const seeded = await world.sims.thingspace.inject({
      method: 'POST',
      url: '/__sim/devices',
      payload: devices.map((iccid, i) => ({
        accountName: DEMO_THINGSPACE_ACCOUNT,
        iccid,
        servicePlan: beforePlan(i),
        ...(iccid === refused ? { planChangesThisMonth: 3 } : {}),
      })),
    });
    expect(seeded.statusCode, seeded.body).toBe(200);
    const before = await devicesOf(devices);

    const original = await assign({
      serviceProviderId: fleet.thingspace,
      devices,
      addCarrierRatePlan: true,
      carrierRatePlan: { ratePlan: 'M2M-5GB-SHR' },
    });
    const simAssigned = await thingspaceState();
    for (const iccid of devices) {
      expect(simAssigned.devices.find((d) => d.iccid === iccid)?.servicePlan, iccid).toBe('M2M-5GB-SHR');
      expect((await devicesOf([iccid])).get(iccid)?.plan, iccid).toBe('M2M-5GB-SHR');
    }
    const requestsBefore = new Set(simAssigned.requests.map((r) => r.requestId));

    // ThingSpace holds its answers: the undo must wait for them, with the device rows untouched.
    await world.sims.thingspace.inject({
      method: 'POST',
      url: '/__sim/plan-changes',
      payload: { settle: 'never' },
    });
    const id = await undo(original);
    const deadline = Date.now() + 60_000;
    while ((await workOrders(id)).some((w) => w.status !== 'WAITING_CARRIER')) {
      if (Date.now() > deadline)
        throw new Error(`undo never waited: ${JSON.stringify(await workOrders(id))}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const sent = (await thingspaceState()).requests.filter((r) => !requestsBefore.has(r.requestId));
    expect(sent.map((r) => [r.iccids, r.servicePlan, r.status]).sort()).toEqual(
      devices.map((iccid, i) => [[iccid], beforePlan(i), 'Pending']).sort(),
    );
    for (const [iccid, device] of await devicesOf(devices)) expect(device.plan, iccid).toBe('M2M-5GB-SHR');

    // ThingSpace answers: five accepted, one refused (its monthly limit).
    await world.sims.thingspace.inject({
      method: 'POST',
      url: '/__sim/plan-changes',
      payload: { settle: 'now' },
    });
    expect(await waitForFinish(world, id)).toBe('PROCESSED_WITH_ERRORS');

    const orders = await workOrders(id);
    expect(orders.filter((w) => w.status === 'PROCESSED').map((w) => w.iccid)).toEqual(
      devices.filter((iccid) => iccid !== refused).sort(),
    );
    expect(orders.filter((w) => w.status !== 'PROCESSED')).toEqual([
      {
        iccid: refused,
        status: 'ERROR',
        error_category: 'integration',
        message: expect.stringMatching(
          /^ThingSpace plan change failed: .*4 service plan changes this month/,
        ) as string,
      },
    ]);

    const sim = await thingspaceState();
    const after = await devicesOf(devices);
    devices.forEach((iccid, i) => {
      const simPlan = sim.devices.find((d) => d.iccid === iccid)?.servicePlan;
      if (iccid === refused) {
        // Not changed back: ThingSpace and the database both keep the original's plan.
        expect(simPlan).toBe('M2M-5GB-SHR');
        expect(after.get(iccid)?.plan).toBe('M2M-5GB-SHR');
        return;
      }
      expect(simPlan, iccid).toBe(beforePlan(i));
      expect(after.get(iccid)?.plan, iccid).toBe(before.get(iccid)?.plan);
      expect(after.get(iccid)?.plan, iccid).toBe(beforePlan(i));
      // The original gave them an owner; they had none before.
      expect(after.get(iccid)?.owned, iccid).toBe(false);
    });
  });
});

describe('undo of a future-dated assignment', () => {
  it('cancels the scheduled carrier and customer plan changes, and nothing of them runs on their day', async () => {
    const devices = await freeDevices(world.database.pool, fleet.jasper, 4);
    const before = await devicesOf(devices);
    const original = await assign({
      serviceProviderId: fleet.jasper,
      devices,
      effectiveDate: LATER,
      addCustomerRatePlan: true,
      customerRatePlan: { ratePlanId: fleet.customerRatePlan },
      addCarrierRatePlan: true,
      carrierRatePlan: { ratePlan: 'IOT-1GB', communicationPlan: 'CP-Standard-Data' },
    });
    const scheduled = () =>
      q<{ kind: string; status: string; n: number }>(
        `SELECT 'carrier' AS kind, status, count(*)::int AS n FROM scheduled_carrier_plan_change
         WHERE bulk_change_id = $1 GROUP BY 1, 2
         UNION ALL
         SELECT 'rate', status, count(*)::int FROM scheduled_rate_plan_change WHERE bulk_change_id = $1 GROUP BY 1, 2
         ORDER BY 1, 2`,
        [original],
      );
    expect(await scheduled()).toEqual([
      { kind: 'carrier', status: 'scheduled', n: 4 },
      { kind: 'rate', status: 'scheduled', n: 4 },
    ]);

    const id = await undo(original);
    expect(await waitForFinish(world, id)).toBe('PROCESSED');
    expect(await scheduled()).toEqual([
      { kind: 'carrier', status: 'cancelled', n: 4 },
      { kind: 'rate', status: 'cancelled', n: 4 },
    ]);
    const logs = await q<{ description: string; n: number }>(
      'SELECT description, count(*)::int AS n FROM change_log WHERE bulk_change_id = $1 GROUP BY 1',
      [id],
    );
    expect(Object.fromEntries(logs.map((l) => [l.description, l.n]))).toMatchObject({
      'Undo: Cancel Scheduled Plan Change': 8,
    });

    // Jasper: what it holds for that day ends with the plan the device had (it has no cancel).
    const jasper = (
      await world.sims.jasper.inject({ method: 'GET', url: '/__sim/state' })
    ).json<JasperSimState>();
    for (const iccid of devices) {
      const device = jasper.devices.find((d) => d.iccid === iccid)!;
      const was = before.get(iccid)!;
      expect(device.pending.at(-1), iccid).toMatchObject({
        effectiveDate: LATER,
        changes: { ratePlan: was.plan, communicationPlan: was.comm },
      });
    }

    // Their day comes: nothing of the original is applied, and every device is as it was.
    await world.services.ratePlanSchedule.applyDue(LATER);
    expect(await scheduled()).toEqual([
      { kind: 'carrier', status: 'cancelled', n: 4 },
      { kind: 'rate', status: 'cancelled', n: 4 },
    ]);
    expect(
      await q(
        `SELECT 1 FROM device_history h JOIN device d ON d.id = h.device_id
         WHERE d.iccid = ANY($1) AND h.after->>'ratePlan' = 'IOT-1GB'
           AND h.change_type = 'carrier_rate_plan'`,
        [devices],
      ),
    ).toEqual([]);
    expect(await devicesOf(devices)).toEqual(before);
  });
});
