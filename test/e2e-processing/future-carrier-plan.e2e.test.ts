import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JasperSimState } from '../../simulators/jasper.simulator.ts';
import { freeDevices, type Fleet } from '../helpers/fleet.ts';
import { assignProcessed, dayFromNow, openFleetWorld } from '../helpers/fleet-world.ts';
import type { World } from '../helpers/world.ts';

/**
 * Issue 12, rule 2: carrier plans follow the effective date. A future-dated assignment used to
 * change the carrier plan at once while the customer plan waited for its date. Now the date goes to
 * the carrier (Jasper `effectiveDate`, ThingSpace `takeEffect`), the device keeps the plan in force
 * until then (shown as scheduled, with history), and the scheduler moves the plan onto the device
 * on its day.
 */

const TODAY = dayFromNow(0);
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

const plansOf = (iccids: string[]) =>
  q<{ iccid: string; plan: string | null; comm: string | null }>(
    `SELECT iccid, carrier_rate_plan AS plan, communication_plan AS comm FROM device WHERE iccid = ANY($1) ORDER BY iccid`,
    [iccids],
  );

describe('a future-dated carrier plan', () => {
  let jasperDevices: string[];
  let thingspaceDevices: string[];
  let todayDevices: string[];
  let jasperChange: number;
  let thingspaceChange: number;
  let before: { iccid: string; plan: string | null; comm: string | null }[];
  const jasperPlan = () => ({ ratePlan: 'IOT-1GB', communicationPlan: 'CP-Standard-Data' });

  beforeAll(async () => {
    jasperDevices = await freeDevices(world.database.pool, fleet.jasper, 12);
    todayDevices = jasperDevices.splice(8);
    thingspaceDevices = await freeDevices(world.database.pool, fleet.thingspace, 6);
    before = await plansOf([...jasperDevices, ...thingspaceDevices]);
    jasperChange = await assign({
      serviceProviderId: fleet.jasper,
      devices: jasperDevices,
      effectiveDate: LATER,
      addCarrierRatePlan: true,
      carrierRatePlan: jasperPlan(),
    });
    thingspaceChange = await assign({
      serviceProviderId: fleet.thingspace,
      devices: thingspaceDevices,
      effectiveDate: LATER,
      addCarrierRatePlan: true,
      carrierRatePlan: { ratePlan: 'M2M-5GB-SHR' },
    });
  }, 120_000);

  it('is sent to Jasper with its effectiveDate and to ThingSpace with takeEffect', async () => {
    const jasper = (
      await world.sims.jasper.inject({ method: 'GET', url: '/__sim/state' })
    ).json<JasperSimState>();
    const pending = jasper.devices.filter((d) => jasperDevices.includes(d.iccid));
    expect(pending).toHaveLength(jasperDevices.length);
    for (const device of pending) {
      expect(device.pending).toHaveLength(1);
      expect(device.pending[0]).toMatchObject({ effectiveDate: LATER, changes: { ratePlan: 'IOT-1GB' } });
      expect(device.ratePlan).not.toBe('IOT-1GB');
    }
    const thingspace = (await world.sims.thingspace.inject({ method: 'GET', url: '/__sim/state' })).json<{
      requests: { iccids: string[]; servicePlan: string; takeEffect?: string; status: string }[];
      devices: { iccid: string; servicePlan: string; scheduledPlan?: { servicePlan: string } }[];
    }>();
    const sent = thingspace.requests.filter((r) =>
      r.iccids.some((iccid) => thingspaceDevices.includes(iccid)),
    );
    expect(sent.map((r) => [r.servicePlan, r.takeEffect, r.status])).toEqual(
      thingspaceDevices.map(() => ['M2M-5GB-SHR', `${LATER}T00:00:00Z`, 'Success']),
    );
    const simDevices = thingspace.devices.filter((d) => thingspaceDevices.includes(d.iccid));
    expect(simDevices.map((d) => d.scheduledPlan?.servicePlan)).toEqual(
      thingspaceDevices.map(() => 'M2M-5GB-SHR'),
    );
  });

  it('leaves the plan in force on the device, shown as scheduled in the device list and its history', async () => {
    expect(await plansOf([...jasperDevices, ...thingspaceDevices])).toEqual(before);
    expect(
      await q(
        `SELECT bulk_change_id AS bulk, carrier_rate_plan AS plan, effective_date::text AS d, count(*)::int AS n
         FROM scheduled_carrier_plan_change WHERE status = 'scheduled' AND bulk_change_id = ANY($1)
         GROUP BY 1, 2, 3 ORDER BY 1`,
        [[jasperChange, thingspaceChange]],
      ),
    ).toEqual([
      { bulk: jasperChange, plan: 'IOT-1GB', d: LATER, n: jasperDevices.length },
      { bulk: thingspaceChange, plan: 'M2M-5GB-SHR', d: LATER, n: thingspaceDevices.length },
    ]);

    const res = await world.app.inject({
      method: 'GET',
      url: `/api/v1/devices?serviceProviderId=${fleet.jasper}&customerId=${fleet.amopCustomer.id}&limit=1000`,
      headers: admin,
    });
    expect(res.statusCode, res.body).toBe(200);
    const listed = res
      .json<{ items: { iccid: string; carrierRatePlan: string | null; scheduledCarrierPlan: unknown }[] }>()
      .items.filter((d) => jasperDevices.includes(d.iccid));
    expect(listed).toHaveLength(jasperDevices.length);
    for (const device of listed) {
      expect(device.carrierRatePlan).not.toBe('IOT-1GB');
      expect(device.scheduledCarrierPlan).toEqual({ ...jasperPlan(), effectiveDate: LATER });
    }

    const [device] = await q<{ id: number }>('SELECT id FROM device WHERE iccid = $1', [jasperDevices[0]]);
    const history = await world.app.inject({
      method: 'GET',
      url: `/api/v1/devices/${device!.id}/history`,
      headers: admin,
    });
    expect(history.json<{ items: { changeType: string; after: unknown }[] }>().items).toContainEqual(
      expect.objectContaining({
        changeType: 'carrier_rate_plan_scheduled',
        after: { ...jasperPlan(), effectiveDate: LATER },
      }),
    );
  });

  it('applies at once when the effective date is today', async () => {
    await assign({
      serviceProviderId: fleet.jasper,
      devices: todayDevices,
      effectiveDate: TODAY,
      addCarrierRatePlan: true,
      carrierRatePlan: jasperPlan(),
    });
    expect(await plansOf(todayDevices)).toEqual(
      [...todayDevices].sort().map((iccid) => ({ iccid, plan: 'IOT-1GB', comm: 'CP-Standard-Data' })),
    );
  });

  it('takes effect on the device on its day, once, with history and a change-log entry', async () => {
    expect((await world.services.ratePlanSchedule.applyDue(dayFromNow(19))).carrierPlans).toBe(0);
    const applied = await world.services.ratePlanSchedule.applyDue(LATER);
    expect(applied.carrierPlans).toBe(jasperDevices.length + thingspaceDevices.length);
    expect((await world.services.ratePlanSchedule.applyDue(LATER)).carrierPlans).toBe(0);

    const after = await plansOf([...jasperDevices, ...thingspaceDevices]);
    expect(after.filter((d) => jasperDevices.includes(d.iccid)).map((d) => [d.plan, d.comm])).toEqual(
      jasperDevices.map(() => ['IOT-1GB', 'CP-Standard-Data']),
    );
    expect(after.filter((d) => thingspaceDevices.includes(d.iccid)).map((d) => d.plan)).toEqual(
      thingspaceDevices.map(() => 'M2M-5GB-SHR'),
    );
    expect(
      await q(
        `SELECT change_type, count(*)::int AS n FROM device_history WHERE bulk_change_id = ANY($1)
           AND change_type LIKE 'carrier%' GROUP BY 1 ORDER BY 1`,
        [[jasperChange, thingspaceChange]],
      ),
    ).toEqual([
      { change_type: 'carrier_rate_plan', n: jasperDevices.length + thingspaceDevices.length },
      { change_type: 'carrier_rate_plan_scheduled', n: jasperDevices.length + thingspaceDevices.length },
    ]);
    const logs = await world.app.inject({
      method: 'GET',
      url: `/api/v1/bulk-changes/${jasperChange}/logs?limit=1000`,
      headers: admin,
    });
    const inForce = logs
      .json<{ items: { description: string; processedBy: string; submittedBy: string | null }[] }>()
      .items.filter((l) => l.description.startsWith('Carrier Rate Plan: in force'));
    expect(inForce).toHaveLength(jasperDevices.length);
    expect(new Set(inForce.map((l) => `${l.processedBy} for ${l.submittedBy}`))).toEqual(
      new Set(['scheduler for admin@northwind.example']),
    );
  });
});
