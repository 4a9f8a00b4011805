import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JasperSimState } from '../../simulators/jasper.simulator.ts';
import { revioSimState } from '../../simulators/revio.simulator.ts';
import { verifySignature } from '../../src/clients/webhook.client.ts';
import { authHeaders } from '../helpers/auth.ts';
import { freeDevices, iccidsWhere, loadFleet, type Fleet } from '../helpers/fleet.ts';
import { createWorld, waitForFinish, type World } from '../helpers/world.ts';
import { postAssignment } from '../helpers/assignments.ts';

/**
 * 1,000 devices through the whole flow, for real: four bulk changes that together mix Rev.io and
 * AMOP customers, customer plans now and later, Jasper and ThingSpace carrier plans, and
 * ineligible devices; processed by the pg-boss worker against the simulators over loopback.
 */

const TODAY = '2026-11-22';
let world: World;
let fleet: Fleet;
let admin: { authorization: string };

beforeAll(async () => {
  world = await createWorld({ devices: 8000, today: TODAY });
  fleet = await loadFleet(world.database.pool);
  admin = await authHeaders(world.database.db, 'admin@northwind.example');
}, 120_000);
afterAll(async () => {
  await world?.close();
});

async function submit(body: Record<string, unknown>) {
  const res = await postAssignment(world.app, admin, { ...body });
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ id: number; counts: { total: number; pending: number; error: number } }>();
}

const q = async <T>(text: string, values: unknown[] = []) =>
  (await world.database.pool.query(text, values)).rows as T[];

describe('a 1,000-device assignment end to end', () => {
  it('ends every device exactly as it should, with services, logs, history, status and notifications', async () => {
    const ineligible = await iccidsWhere(
      world.database.pool,
      "d.service_provider_id = $1 AND d.status <> 'active' AND NOT d.is_archived",
      [fleet.thingspace],
      20,
    );
    const secondRev = (
      await q<{ id: number }>(
        `SELECT id FROM customer WHERE tenant_id = $1 AND kind = 'rev' AND active AND id <> $2 ORDER BY id LIMIT 1`,
        [fleet.tenantId, fleet.revCustomer.id],
      )
    )[0]!.id;
    const mobility = await q<{ msisdn: string }>(
      `SELECT d.msisdn FROM device d WHERE d.service_provider_id = $1 AND d.status = 'active' AND NOT d.is_archived
         AND NOT EXISTS (SELECT 1 FROM device_tenant dt WHERE dt.device_id = d.id) ORDER BY d.id LIMIT 100`,
      [fleet.mobility],
    );

    // A: Rev customer, ThingSpace, service + 2 products, customer plan now, ThingSpace carrier plan.
    const a = await submit({
      serviceProviderId: fleet.thingspace,
      customerId: fleet.revCustomer.id,
      devices: [...(await freeDevices(world.database.pool, fleet.thingspace, 380)), ...ineligible],
      createRevService: true,
      revService: {
        serviceTypeId: 3,
        products: [
          { productId: 11, rate: 4.5 },
          { productId: 12, rate: 1.25 },
        ],
        providerId: 1,
      },
      addCustomerRatePlan: true,
      customerRatePlan: { ratePlanId: fleet.customerRatePlan },
      addCarrierRatePlan: true,
      carrierRatePlan: { ratePlan: 'M2M-5GB-SHR' },
    });
    // B: AMOP customer, Jasper, customer pool later, Jasper carrier plan.
    const b = await submit({
      serviceProviderId: fleet.jasper,
      customerId: fleet.amopCustomer.id,
      devices: await freeDevices(world.database.pool, fleet.jasper, 300),
      addCustomerRatePlan: true,
      customerRatePlan: { ratePoolId: fleet.customerRatePool },
      effectiveDate: '2027-01-01',
      addCarrierRatePlan: true,
      carrierRatePlan: { ratePlan: 'IOT-1GB', communicationPlan: 'CP-Standard-Data' },
    });
    // C: another Rev customer on Jasper, with a package (no products).
    const c = await submit({
      serviceProviderId: fleet.jasper,
      customerId: secondRev,
      devices: (await freeDevices(world.database.pool, fleet.jasper, 500)).slice(300),
      createRevService: true,
      revService: { serviceTypeId: 3, packageId: 77 },
    });
    // D: AMOP on the Mobility provider, by MSISDN, nothing else.
    const d = await submit({
      serviceProviderId: fleet.mobility,
      customerId: fleet.amopCustomer.id,
      devices: mobility.map((m) => m.msisdn),
    });
    expect(a.counts.total + b.counts.total + c.counts.total + d.counts.total).toBe(1000);
    expect(a.counts.error).toBe(20);

    const statuses = await Promise.all([a, b, c, d].map((x) => waitForFinish(world, x.id)));
    expect(statuses).toEqual(['PROCESSED_WITH_ERRORS', 'PROCESSED', 'PROCESSED', 'PROCESSED']);

    // exact counts
    for (const [x, processed, error] of [
      [a, 380, 20],
      [b, 300, 0],
      [c, 200, 0],
      [d, 100, 0],
    ] as const) {
      const res = await world.app.inject({
        method: 'GET',
        url: `/api/v1/bulk-changes/${x.id}`,
        headers: admin,
      });
      expect(res.json()).toMatchObject({
        counts: { total: processed + error, processed, error, pending: 0, processing: 0, waiting: 0 },
      });
    }

    // Completion statistics (issue 12, rule 7): the calls counted per system are the change log's,
    // and devices per second follows from the devices and the duration.
    for (const x of [a, b, c, d]) {
      const detail = (
        await world.app.inject({ method: 'GET', url: `/api/v1/bulk-changes/${x.id}`, headers: admin })
      ).json<{
        counts: { total: number; cancelled: number };
        stats: { durationMs: number; devicesPerSecond: number; externalCalls: Record<string, number> } | null;
      }>();
      const calls = await q<{ system: string; n: number }>(
        `SELECT system, count(*)::int AS n FROM change_log WHERE bulk_change_id = $1 AND system IS NOT NULL GROUP BY 1`,
        [x.id],
      );
      expect(detail.stats).not.toBeNull();
      expect(detail.stats!.externalCalls).toEqual(Object.fromEntries(calls.map((r) => [r.system, r.n])));
      expect(detail.stats!.devicesPerSecond).toBeCloseTo(
        (detail.counts.total / Math.max(detail.stats!.durationMs, 1)) * 1000,
        0,
      );
    }
    // Who did it (rule 9): every entry names the submitter beside the process that ran it.
    const who = await q<{ submitted_by: string | null; processed_by: string; n: number }>(
      `SELECT submitted_by, split_part(processed_by, ':', 1) AS processed_by, count(*)::int AS n
       FROM change_log WHERE bulk_change_id = ANY($1) GROUP BY 1, 2 ORDER BY 2`,
      [[a.id, b.id, c.id, d.id]],
    );
    expect(new Set(who.map((r) => r.submitted_by))).toEqual(new Set(['admin@northwind.example']));
    expect(who.map((r) => r.processed_by)).toContain('simbind-api');

    // ownership: Rev path with account number and service id; AMOP path without
    const owners = await q<{
      bulk: number;
      n: number;
      right_customer: number;
      with_rev: number;
      with_site: number;
    }>(
      `SELECT w.bulk_change_id AS bulk, count(*)::int AS n,
              count(*) FILTER (WHERE dt.customer_id = b.customer_id AND dt.is_active AND NOT dt.is_deleted)::int AS right_customer,
              count(*) FILTER (WHERE dt.rev_service_id IS NOT NULL AND dt.account_number IS NOT NULL)::int AS with_rev,
              count(*) FILTER (WHERE dt.site_id IS NOT NULL)::int AS with_site
       FROM bulk_change_device w JOIN bulk_change b ON b.id = w.bulk_change_id
       JOIN device_tenant dt ON dt.device_id = w.device_id
       WHERE w.status = 'PROCESSED' GROUP BY w.bulk_change_id ORDER BY 1`,
    );
    expect(owners).toEqual([
      { bulk: a.id, n: 380, right_customer: 380, with_rev: 380, with_site: 380 },
      { bulk: b.id, n: 300, right_customer: 300, with_rev: 0, with_site: 300 },
      { bulk: c.id, n: 200, right_customer: 200, with_rev: 200, with_site: 200 },
      { bulk: d.id, n: 100, right_customer: 100, with_rev: 0, with_site: 100 },
    ]);
    // the ineligible devices were not touched
    const untouched = await q<{ n: number }>(
      `SELECT count(*)::int AS n FROM device_tenant dt JOIN device dv ON dv.id = dt.device_id WHERE dv.iccid = ANY($1)`,
      [ineligible],
    );
    expect(untouched[0]!.n).toBe(0);

    // Rev services in the simulator equal the rev_service rows, one per device, products per service
    const sim = revioSimState(world.sims.revio);
    const rows = await q<{ service_id: number; number2: string }>(
      `SELECT service_id, number2 FROM rev_service WHERE bulk_change_device_id IS NOT NULL AND status = 'created' ORDER BY service_id`,
    );
    expect(rows).toHaveLength(580);
    expect(sim.services.map((s) => s.service_id).sort((x, y) => x - y)).toEqual(
      rows.map((r) => r.service_id),
    );
    expect(new Set(sim.services.map((s) => s.number2)).size).toBe(580);
    expect(sim.serviceProducts).toHaveLength(380 * 2);
    expect(await q(`SELECT count(*)::int AS n FROM rev_service_product WHERE status = 'created'`)).toEqual([
      { n: 760 },
    ]);

    // customer plans: now for A (activation dates are past), scheduled for B
    const planned = await q<{ n: number }>(
      `SELECT count(*)::int AS n FROM device_tenant dt JOIN bulk_change_device w ON w.device_id = dt.device_id
       WHERE w.bulk_change_id = $1 AND w.status = 'PROCESSED' AND dt.customer_rate_plan_id = $2`,
      [a.id, fleet.customerRatePlan],
    );
    expect(planned[0]!.n).toBe(380);
    expect(
      await q(
        `SELECT count(*)::int AS n, min(effective_date)::text AS d FROM scheduled_rate_plan_change WHERE bulk_change_id = $1`,
        [b.id],
      ),
    ).toEqual([{ n: 300, d: '2027-01-01' }]);

    // carrier plans applied through the carriers: A's now; B's (dated 2027-01-01) sent to Jasper
    // with that date and kept as scheduled, the devices keeping the plan in force until then
    const plans = await q<{ bulk: number; plan: string; n: number }>(
      `SELECT w.bulk_change_id AS bulk, dv.carrier_rate_plan AS plan, count(*)::int AS n FROM bulk_change_device w
       JOIN device dv ON dv.id = w.device_id WHERE w.bulk_change_id = ANY($1) AND w.status = 'PROCESSED'
         AND dv.carrier_rate_plan = ANY($2)
       GROUP BY 1, 2 ORDER BY 1`,
      [
        [a.id, b.id],
        ['M2M-5GB-SHR', 'IOT-1GB'],
      ],
    );
    expect(plans).toEqual([{ bulk: a.id, plan: 'M2M-5GB-SHR', n: 380 }]);
    expect(
      await q(
        `SELECT carrier_rate_plan AS plan, communication_plan AS comm, effective_date::text AS d, count(*)::int AS n
         FROM scheduled_carrier_plan_change WHERE bulk_change_id = $1 AND status = 'scheduled' GROUP BY 1, 2, 3`,
        [b.id],
      ),
    ).toEqual([{ plan: 'IOT-1GB', comm: 'CP-Standard-Data', d: '2027-01-01', n: 300 }]);
    const jasperState = (
      await world.sims.jasper.inject({ method: 'GET', url: '/__sim/state' })
    ).json<JasperSimState>();
    expect(
      jasperState.devices.filter((device) =>
        device.pending.some((p) => p.effectiveDate === '2027-01-01' && p.changes.ratePlan === 'IOT-1GB'),
      ),
    ).toHaveLength(300);

    // one log entry per step per device
    const logs = await q<{ bulk: number; description: string; n: number }>(
      `SELECT bulk_change_id AS bulk, regexp_replace(description, ' \\(.*\\)$', '') AS description, count(*)::int AS n
       FROM change_log WHERE bulk_change_id = ANY($1) GROUP BY 1, 2 ORDER BY 1, 2`,
      [[a.id, b.id, c.id, d.id]],
    );
    expect(logs).toEqual([
      { bulk: a.id, description: 'AMOP Customer Rate Plan/Rate Pool Assignment', n: 380 },
      { bulk: a.id, description: 'Carrier Rate Plan: Carrier API', n: 760 },
      { bulk: a.id, description: 'Create Rev.io Service Product: Rev.io API', n: 760 },
      { bulk: a.id, description: 'Create Rev.io Service: Rev.io API', n: 380 },
      { bulk: a.id, description: 'Create Rev.io Service: Update AMOP', n: 380 },
      { bulk: a.id, description: 'Customer Assignment: Validate Device', n: 20 },
      { bulk: b.id, description: 'AMOP Customer Assignment', n: 300 },
      { bulk: b.id, description: 'Associate Customer: Update AMOP Customer Rate Plan', n: 300 },
      { bulk: b.id, description: 'Carrier Rate Plan: Carrier API', n: 300 },
      { bulk: c.id, description: 'Create Rev.io Service: Rev.io API', n: 200 },
      { bulk: c.id, description: 'Create Rev.io Service: Update AMOP', n: 200 },
      { bulk: d.id, description: 'AMOP Customer Assignment', n: 100 },
    ]);
    // Through the API, each entry names its device by ICCID (these were submitted by ICCID).
    const page = (
      await world.app.inject({
        method: 'GET',
        url: `/api/v1/bulk-changes/${b.id}/logs?limit=100`,
        headers: admin,
      })
    ).json<{ items: { iccid: string | null; identifier: string | null; deviceId: number | null }[] }>();
    expect(page.items).toHaveLength(100);
    for (const entry of page.items) {
      expect(entry.iccid).toMatch(/^\d{19,20}$/);
      expect(entry.identifier).toBe(entry.iccid);
    }
    // ThingSpace's results came by callback (kept in the inbox when they beat the worker), not by the
    // 30-second safety-net poll
    const confirmations = await q<{ processed_by: string; n: number }>(
      `SELECT processed_by, count(*)::int AS n FROM change_log WHERE bulk_change_id = $1 AND description LIKE '%(confirmed)'
       GROUP BY 1`,
      [a.id],
    );
    expect(confirmations).toEqual([{ processed_by: 'thingspace-callback', n: 380 }]);

    // secrets never reach the change log
    const leaked = await q(
      `SELECT id FROM change_log WHERE request_text ~ '(demo-password|demo-subscription-key|demo-jasper-key|demo-app-secret)'`,
    );
    expect(leaked).toEqual([]);

    // history: assignment for all, plans where applied
    const history = await q<{ change_type: string; n: number }>(
      `SELECT change_type, count(*)::int AS n FROM device_history WHERE bulk_change_id = ANY($1) GROUP BY 1 ORDER BY 1`,
      [[a.id, b.id, c.id, d.id]],
    );
    expect(history).toEqual([
      { change_type: 'carrier_rate_plan', n: 380 },
      { change_type: 'carrier_rate_plan_scheduled', n: 300 },
      { change_type: 'customer_assignment', n: 980 },
      { change_type: 'customer_rate_plan', n: 380 },
    ]);

    // one signed webhook per bulk change, one e-mail per bulk change
    await waitUntil(() => world.webhooks.received.length >= 4 && world.mails.length >= 4);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(world.webhooks.received).toHaveLength(4);
    for (const hook of world.webhooks.received) {
      expect(
        verifySignature('whsec-test-secret', hook.body, hook.headers['x-simbind-signature'] as string),
      ).toBe(true);
    }
    const hooked = world.webhooks.received.map(
      (h) => JSON.parse(h.body) as { data: { id: number; status: string } },
    );
    expect(hooked.map((h) => h.data.id).sort()).toEqual([a.id, b.id, c.id, d.id].sort());
    expect(world.mails).toHaveLength(4);
    expect(world.mails.every((m) => m.to.includes('admin@northwind.example'))).toBe(true);
  }, 240_000);
});

async function waitUntil(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
