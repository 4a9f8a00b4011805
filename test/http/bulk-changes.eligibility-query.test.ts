import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { MESSAGES } from '../../src/services/assignment/eligibility.ts';
import { luhnCheckDigit } from '../../src/services/identifiers.ts';
import { buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';
import { postAssignment } from '../helpers/assignments.ts';

/**
 * The one set-based query behind every device verdict (findDeviceCandidates), seen through the dry
 * run: it answers only for devices the identifiers name, in no order, so what it does not answer
 * must read as "not found", a shared MSISDN must still answer with its oldest device, and an
 * identifier of another provider or tenant must not leak in.
 */

let database: TestDatabase;
let app: TestApp;
let fleet: Fleet;
let admin: { authorization: string };

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 3000 });
  app = await buildTestAppWithServices(database);
  fleet = await loadFleet(database.pool);
  admin = await authHeaders(database.db, 'admin@northwind.example');
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

interface Verdict {
  identifier: string;
  deviceId: number | null;
  eligible: boolean;
  message: string | null;
}

async function dryRun(serviceProviderId: number, devices: string[]): Promise<Verdict[]> {
  const res = await postAssignment(app, admin, {
    serviceProviderId,
    customerId: fleet.amopCustomer.id,
    devices,
    dryRun: true,
  });
  expect(res.statusCode).toBe(200);
  return res.json<{ devices: Verdict[] }>().devices;
}

describe('the eligibility query, through the dry run', () => {
  it('keeps the order of the request, and reads identifiers it does not find as not found', async () => {
    const free = await freeDevices(database.pool, fleet.thingspace, 4);
    const { rows } = await database.pool.query<{ iccid: string }>(
      `SELECT d.iccid FROM device d WHERE d.service_provider_id = $1 ORDER BY d.id LIMIT 1`,
      [fleet.jasper],
    );
    const otherProvider = rows[0]!.iccid;
    // A well-formed ICCID (its check digit right) that no device has.
    const unknown = `891480199999999999${luhnCheckDigit('891480199999999999')}`;
    const request = [free[3]!, unknown, free[0]!, otherProvider, free[2]!, free[1]!];
    const verdicts = await dryRun(fleet.thingspace, request);

    expect(verdicts.map((v) => v.identifier)).toEqual(request);
    const byId = new Map(verdicts.map((v) => [v.identifier, v]));
    for (const iccid of free) expect(byId.get(iccid)).toMatchObject({ eligible: true, message: null });
    for (const missing of [unknown, otherProvider]) {
      expect(byId.get(missing)).toMatchObject({
        deviceId: null,
        eligible: false,
        message: MESSAGES.notFound,
      });
    }
  });

  it('answers a shared MSISDN with its oldest device, once', async () => {
    const { rows } = await database.pool.query<{ id: number; msisdn: string }>(
      `SELECT d.id, d.msisdn FROM device d
       WHERE d.service_provider_id = $1 AND d.status = 'active' AND NOT d.is_archived AND d.msisdn IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM device_tenant dt WHERE dt.device_id = d.id)
       ORDER BY d.id LIMIT 2`,
      [fleet.mobility],
    );
    const [older, newer] = rows;
    // The newer device takes the older one's number (a recycled MSISDN).
    await database.pool.query('UPDATE device SET msisdn = $1 WHERE id = $2', [older!.msisdn, newer!.id]);

    const verdicts = await dryRun(fleet.mobility, [older!.msisdn]);
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]).toMatchObject({ identifier: older!.msisdn, deviceId: older!.id, eligible: true });
  });

  it('does not repeat a device that is owned, billed in Rev.io twice and held by an open bulk change', async () => {
    const { rows } = await database.pool.query<{ id: number; iccid: string; customer: number }>(
      `SELECT d.id, d.iccid, s.customer_id AS customer FROM device d JOIN rev_service s ON s.device_id = d.id
       WHERE d.service_provider_id = $1 AND s.is_active AND d.status = 'active' AND NOT d.is_archived
       ORDER BY d.id LIMIT 1`,
      [fleet.thingspace],
    );
    const owned = rows[0]!;
    // A second active line for another customer, and an open work order of another bulk change.
    await database.pool.query(
      `INSERT INTO rev_service (tenant_id, device_id, customer_id, rev_credentials_id, rev_customer_id, service_id,
                                number, service_type_id, provider_id, status)
       SELECT tenant_id, device_id, $2, rev_credentials_id, rev_customer_id, service_id + 1, number, service_type_id,
              provider_id, 'created'
       FROM rev_service WHERE device_id = $1`,
      [owned.id, fleet.revCustomer.id === owned.customer ? fleet.amopCustomer.id : fleet.revCustomer.id],
    );
    const [free] = await freeDevices(database.pool, fleet.thingspace, 1);
    const holder = await postAssignment(app, admin, {
      serviceProviderId: fleet.thingspace,
      customerId: fleet.amopCustomer.id,
      devices: [free!],
    });
    expect(holder.statusCode).toBe(202);
    await database.pool.query(
      `INSERT INTO bulk_change_device (tenant_id, bulk_change_id, device_id, identifier, iccid, status)
       VALUES ($1, $2, $3, $4, $4, 'PENDING')`,
      [fleet.tenantId, holder.json<{ id: number }>().id, owned.id, owned.iccid],
    );

    const verdicts = await dryRun(fleet.thingspace, [owned.iccid]);
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]).toMatchObject({
      deviceId: owned.id,
      eligible: false,
      message: MESSAGES.otherCustomerService,
    });
  });
});
