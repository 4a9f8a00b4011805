import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';

/**
 * Issue 12, rules 5 and 6: the older entry points hold every rule of the JSON API (the same body
 * schema and the same service rules, in their `{ Success: false, Message }` shape and their field
 * names), the AMOP path refuses a Rev.io customer's site, and the Mobility portal has the same
 * pair of endpoints, by MSISDN.
 */

interface Answer {
  Success: boolean;
  ChangeId?: number;
  Message?: string;
}

let database: TestDatabase;
let app: TestApp;
let fleet: Fleet;
let admin: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 2000 });
  app = await buildTestAppWithServices(database);
  fleet = await loadFleet(database.pool);
  admin = await authHeaders(database.db, 'admin@northwind.example');
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

const rows = async () =>
  (
    await database.pool.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM bulk_change) + (SELECT count(*) FROM bulk_change_device)
            + (SELECT count(*) FROM change_log) + (SELECT count(*) FROM pgboss.job) AS n`,
    )
  ).rows[0]!.n;
const post = (url: string, payload: Record<string, unknown>) =>
  app.inject({ method: 'POST', url, headers: admin, payload });

async function expectRefused(url: string, payload: Record<string, unknown>, status: number, message: RegExp) {
  const before = await rows();
  const res = await post(url, payload);
  expect(res.statusCode, res.body).toBe(status);
  const answer = res.json<Answer>();
  expect(answer.Success).toBe(false);
  expect(answer.Message).toMatch(message);
  expect(await rows()).toBe(before);
}

const freeMsisdns = async (count: number) =>
  (
    await database.pool.query<{ msisdn: string }>(
      `SELECT d.msisdn FROM device d WHERE d.service_provider_id = $1 AND d.status = 'active' AND NOT d.is_archived
         AND d.msisdn IS NOT NULL AND NOT EXISTS (SELECT 1 FROM device_tenant dt WHERE dt.device_id = d.id)
         AND NOT EXISTS (SELECT 1 FROM bulk_change_device w WHERE w.device_id = d.id)
       ORDER BY d.id LIMIT $2`,
      [fleet.mobility, count],
    )
  ).rows.map((r) => r.msisdn);

describe('rule 5: the older endpoints validate like the JSON API', () => {
  const revBody = async (change: Record<string, unknown>) => ({
    Devices: await freeDevices(database.pool, fleet.thingspace, 2),
    ServiceProviderId: fleet.thingspace,
    RevCustomerId: fleet.revCustomer.revCustomerId,
    CreateRevService: true,
    ServiceTypeId: 3,
    RevProductIdList: [11],
    RateList: [4.5],
    ...change,
  });

  it('refuses CreateRevService without ServiceTypeId (the older system sent 0 to Rev.io), naming the field', async () => {
    const { ServiceTypeId: _omitted, ...body } = await revBody({});
    await expectRefused('/M2M/AssociateCustomer', body, 400, /\/ServiceTypeId/);

    // The same devices with a ServiceTypeId go through, and that is the id Rev.io will be sent.
    const res = await post('/M2M/AssociateCustomer', { ...body, ServiceTypeId: '3' });
    expect(res.statusCode, res.body).toBe(200);
    const { rows: stored } = await database.pool.query<{
      options: { revService: { serviceTypeId: number } };
    }>('SELECT options FROM bulk_change WHERE id = $1', [res.json<Answer>().ChangeId]);
    expect(stored[0]!.options.revService.serviceTypeId).toBe(3);
  });

  it('refuses a ServiceTypeId that is not an id', async () => {
    await expectRefused(
      '/M2M/AssociateCustomer',
      await revBody({ ServiceTypeId: 'abc' }),
      400,
      /ServiceTypeId/,
    );
    await expectRefused('/M2M/AssociateCustomer', await revBody({ ServiceTypeId: 0 }), 400, /ServiceTypeId/);
    // Digits the older body takes, but not an id: the older system sent 0 to Rev.io for these too.
    await expectRefused(
      '/M2M/AssociateCustomer',
      await revBody({ ServiceTypeId: '000' }),
      400,
      /\/ServiceTypeId: must be >= 1/,
    );
  });

  it('refuses what the API refuses, in the older names: a rate plan that does not exist, an impossible date', async () => {
    await expectRefused(
      '/M2M/AssociateCustomer',
      await revBody({ AddCustomerRatePlan: true, CustomerRatePlan: 999_999 }),
      422,
      /\/CustomerRatePlan: no active customer rate plan 999999/,
    );
    await expectRefused(
      '/M2M/AssociateCustomer',
      await revBody({ EffectiveDate: '2025-02-30' }),
      400,
      /\/EffectiveDate/,
    );
  });

  it('refuses AssociateAmopCustomer for a Rev.io customer’s site, writing nothing', async () => {
    await expectRefused(
      '/M2M/AssociateAmopCustomer',
      {
        Devices: await freeDevices(database.pool, fleet.thingspace, 1),
        ServiceProviderId: fleet.thingspace,
        SiteId: fleet.revCustomer.defaultSiteId,
      },
      422,
      /a Rev\.io customer: use \/M2M\/AssociateCustomer/,
    );
  });
});

describe('rule 6: the Mobility pair, by MSISDN', () => {
  it('assigns Mobility devices to a Rev.io customer by MSISDN', async () => {
    const msisdns = await freeMsisdns(3);
    const res = await post('/Mobility/AssociateCustomer', {
      Devices: msisdns,
      ServiceProviderId: fleet.mobility,
      RevCustomerId: fleet.revCustomer.revCustomerId,
    });
    expect(res.statusCode, res.body).toBe(200);
    const id = res.json<Answer>().ChangeId!;
    const orders = await database.pool.query<{ identifier: string; status: string; source: string }>(
      `SELECT w.identifier, w.status, b.source FROM bulk_change_device w JOIN bulk_change b ON b.id = w.bulk_change_id
       WHERE w.bulk_change_id = $1 ORDER BY w.identifier`,
      [id],
    );
    expect(orders.rows).toEqual(
      [...msisdns].sort().map((identifier) => ({ identifier, status: 'PENDING', source: 'legacy' })),
    );
  });

  it('assigns Mobility devices to an AMOP site', async () => {
    const msisdns = await freeMsisdns(2);
    const res = await post('/Mobility/AssociateAmopCustomer', {
      Devices: msisdns,
      ServiceProviderId: fleet.mobility,
      SiteId: fleet.amopCustomer.defaultSiteId,
    });
    expect(res.statusCode, res.body).toBe(200);
    const { rows: orders } = await database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM bulk_change_device WHERE bulk_change_id = $1 AND status = 'PENDING'`,
      [res.json<Answer>().ChangeId],
    );
    expect(orders[0]!.n).toBe(2);
  });

  it('refuses a provider of the other portal on either pair', async () => {
    await expectRefused(
      '/Mobility/AssociateCustomer',
      {
        Devices: await freeDevices(database.pool, fleet.thingspace, 1),
        ServiceProviderId: fleet.thingspace,
        RevCustomerId: fleet.revCustomer.revCustomerId,
      },
      422,
      /is not a Mobility provider: use \/M2M\/AssociateCustomer/,
    );
    await expectRefused(
      '/M2M/AssociateAmopCustomer',
      {
        Devices: await freeMsisdns(1),
        ServiceProviderId: fleet.mobility,
        SiteId: fleet.amopCustomer.defaultSiteId,
      },
      422,
      /is not a M2M provider: use \/Mobility\/AssociateAmopCustomer/,
    );
  });
});
