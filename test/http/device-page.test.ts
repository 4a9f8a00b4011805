import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type TypedApp } from '../../src/http/app.ts';
import { MESSAGES } from '../../src/services/assignment/eligibility.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';

/**
 * Issue 15: the device page (GET /devices/:id) and its history with names and bulk changes; the
 * change log's device and step filters; and the request log a screen's polling no longer floods.
 */

// Fastify prints its deprecation warnings once per process: listen before any app is built.
const warnings: string[] = [];
process.on('warning', (w: Error & { code?: string }) => warnings.push(w.code ?? w.name));

type Headers = Record<string, string>;
let database: TestDatabase;
let app: TestApp;
let fleet: Fleet;
let admin: Headers;
let operator: Headers;
/** A Rev customer's device (with its Rev.io line), and a free one put into a bulk change. */
let owned: { id: number; iccid: string; customerId: number; siteId: number; serviceId: number };
let free: { id: number; iccid: string };
let bulkChangeId: number;
const sql = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];
const one = async <T>(text: string, values: unknown[] = []) => (await sql<T>(text, values))[0]!;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 1000 });
  app = await buildTestAppWithServices(database);
  fleet = await loadFleet(database.pool);
  admin = await authHeaders(database.db, 'admin@northwind.example');
  operator = await authHeaders(database.db, 'operator@northwind.example');
  owned = await one(
    `SELECT d.id, d.iccid, o.customer_id AS "customerId", o.site_id AS "siteId", r.service_id AS "serviceId"
     FROM device d JOIN device_tenant o ON o.device_id = d.id JOIN rev_service r ON r.device_id = d.id
     WHERE d.service_provider_id = $1 ORDER BY d.id LIMIT 1`,
    [fleet.thingspace],
  );
  const [iccid] = await freeDevices(database.pool, fleet.thingspace, 1);
  free = await one('SELECT id, iccid FROM device WHERE iccid = $1', [iccid]);
  // The free device and the owned one (refused: an active Rev.io line) in one bulk change; no
  // worker runs here, so the free one stays open in it.
  const res = await postAssignment(app, admin, {
    serviceProviderId: fleet.thingspace,
    customerId: fleet.amopCustomer.id,
    devices: [free.iccid, owned.iccid],
  });
  expect(res.statusCode, res.body).toBe(202);
  bulkChangeId = res.json<{ id: number }>().id;
}, 60_000);
afterAll(async () => {
  await app.close();
  await database.drop();
});

async function get(url: string, headers: Headers = admin) {
  return app.inject({ method: 'GET', url: `/api/v1${url}`, headers });
}

describe('GET /devices/:id', () => {
  it('shows the identifiers, owner and site by name, plans, Rev.io lines with named products, scheduled changes', async () => {
    const line = await one<{ id: number; credentials: number; serviceTypeId: number }>(
      `SELECT id, rev_credentials_id AS credentials, service_type_id AS "serviceTypeId"
       FROM rev_service WHERE device_id = $1`,
      [owned.id],
    );
    await sql(
      `INSERT INTO rev_service_product (tenant_id, rev_service_id, product_id, rate, service_product_id, status)
       VALUES ($1, $2, 11, 4.5, 9001, 'created'), ($1, $2, 12, NULL, NULL, 'pending')`,
      [fleet.tenantId, line.id],
    );
    // The line's account's cached catalogue names its service type and product 11 (retired since:
    // it keeps its name); product 12 is not in it.
    await sql(
      `INSERT INTO catalogue_fetch (credentials_id, tenant_id, fetched_at, counts) VALUES ($1, $2, now(), '{}')`,
      [line.credentials, fleet.tenantId],
    );
    await sql(
      `INSERT INTO catalogue_entry (credentials_id, kind, remote_id, name, active, fetched_at) VALUES
         ($1, 'service_type', $2::text, 'M2M Data Line', true, now()),
         ($1, 'product', '11', 'M2M line access', false, now()), ($1, 'package', '12', 'Not a product', true, now())`,
      [line.credentials, line.serviceTypeId],
    );
    await sql(
      `INSERT INTO scheduled_carrier_plan_change (tenant_id, device_id, carrier_rate_plan, effective_date)
       VALUES ($1, $2, 'M2M-5GB-SHR', '2031-02-01')`,
      [fleet.tenantId, owned.id],
    );
    await sql(
      `INSERT INTO scheduled_rate_plan_change (tenant_id, device_id, customer_rate_plan_id, effective_date, portal_type)
       VALUES ($1, $2, $3, '2031-01-01', 'm2m')`,
      [fleet.tenantId, owned.id, fleet.customerRatePlan],
    );
    const names = await one<{ customer: string; site: string; plan: string; carrierPlan: string }>(
      `SELECT c.name AS customer, s.name AS site, p.name AS plan,
              (SELECT cp.name FROM carrier_rate_plan cp JOIN device d ON d.service_provider_id = cp.service_provider_id
               AND cp.code = d.carrier_rate_plan WHERE d.id = $4) AS "carrierPlan"
       FROM customer c, site s, customer_rate_plan p WHERE c.id = $1 AND s.id = $2 AND p.id = $3`,
      [owned.customerId, owned.siteId, fleet.customerRatePlan, owned.id],
    );

    const res = await get(`/devices/${owned.id}`);
    expect(res.statusCode, res.body).toBe(200);
    const page = res.json<Record<string, unknown>>();
    expect(page).toMatchObject({
      id: owned.id,
      iccid: owned.iccid,
      serviceProvider: { id: fleet.thingspace, integration: 'thingspace', portalType: 'm2m' },
      carrierRatePlan: { name: names.carrierPlan },
      owner: {
        customer: { id: owned.customerId, name: names.customer, kind: 'rev' },
        site: { id: owned.siteId, name: names.site },
        revServiceId: owned.serviceId,
      },
      revServices: [
        {
          serviceId: owned.serviceId,
          status: 'created',
          active: true,
          customer: { id: owned.customerId, name: names.customer },
          serviceTypeId: line.serviceTypeId,
          serviceTypeName: 'M2M Data Line',
          packageName: null,
          products: [
            { productId: 11, name: 'M2M line access', rate: 4.5, serviceProductId: 9001, status: 'created' },
            { productId: 12, name: null, rate: null, serviceProductId: null, status: 'pending' },
          ],
        },
      ],
      scheduledPlanChanges: [
        { kind: 'customer', effectiveDate: '2031-01-01', customerRatePlan: { name: names.plan } },
        { kind: 'carrier', effectiveDate: '2031-02-01', carrierRatePlan: { code: 'M2M-5GB-SHR' } },
      ],
      links: { history: `/api/v1/devices/${owned.id}/history` },
    });
  });

  it('lists a bulk change that refused the device at submission, saying why', async () => {
    // The owned device is refused by the bulk change of beforeAll: another customer's active Rev.io line.
    const page = (await get(`/devices/${owned.id}`)).json<{ bulkChanges: Record<string, unknown>[] }>();
    expect(page.bulkChanges).toContainEqual(
      expect.objectContaining({
        id: bulkChangeId,
        status: 'NEW',
        device: { status: 'ERROR', message: MESSAGES.otherCustomerService },
      }),
    );
  });

  it('links a device to the bulk changes that touched it; its history names them and their ids', async () => {
    const open = (await get(`/devices/${free.id}`)).json<{ owner: unknown; bulkChanges: unknown[] }>();
    expect(open.owner).toBeNull();
    expect(open.bulkChanges).toEqual([
      expect.objectContaining({
        id: bulkChangeId,
        status: 'NEW',
        customer: { id: fleet.amopCustomer.id, name: expect.any(String) as string },
        device: { status: 'PENDING', message: null },
        links: {
          self: `/api/v1/bulk-changes/${bulkChangeId}`,
          logs: `/api/v1/bulk-changes/${bulkChangeId}/logs?deviceId=${free.id}`,
        },
      }),
    ]);
    // A step that changed the owned device, as processing writes it.
    await sql(
      `INSERT INTO device_history (tenant_id, device_id, bulk_change_id, change_type, before, after)
       VALUES ($1, $2, $3, 'customer_assignment', NULL, jsonb_build_object('customerId', $4::bigint, 'siteId', $5::bigint))`,
      [fleet.tenantId, owned.id, bulkChangeId, owned.customerId, owned.siteId],
    );
    const page = (await get(`/devices/${owned.id}`)).json<{ bulkChanges: { id: number }[] }>();
    expect(page.bulkChanges.map((b) => b.id)).toEqual([bulkChangeId]);
    const history = (await get(`/devices/${owned.id}/history`)).json<{ items: Record<string, unknown>[] }>();
    expect(history.items[0]).toMatchObject({
      changeType: 'customer_assignment',
      bulkChangeId,
      bulkChange: { id: bulkChangeId, changeType: 'customer_assignment', status: 'NEW' },
      after: {
        customerId: owned.customerId,
        customerName: expect.any(String) as string,
        siteId: owned.siteId,
        siteName: expect.any(String) as string,
      },
    });
  });

  it("answers 404 to an operator for another customer's device, and to another tenant", async () => {
    const foreign = await one<{ id: number }>(
      `SELECT o.device_id AS id FROM device_tenant o WHERE o.tenant_id = $1 AND o.customer_id IS NOT NULL
         AND NOT o.customer_id IN (SELECT a.customer_id FROM user_customer_access a JOIN app_user u ON u.id = a.user_id
                                   WHERE u.email = 'operator@northwind.example') LIMIT 1`,
      [fleet.tenantId],
    );
    expect((await get(`/devices/${foreign.id}`, operator)).statusCode).toBe(404);
    expect((await get(`/devices/${free.id}`, operator)).statusCode).toBe(200);
    const contoso = await authHeaders(database.db, 'admin@contoso.example');
    expect((await get(`/devices/${free.id}`, contoso)).statusCode).toBe(404);
  });
});

describe('GET /bulk-changes/:id/logs filters', () => {
  interface Entry {
    deviceId: number | null;
    iccid: string | null;
    step: string;
    description: string;
  }
  const logs = async (query = '') => {
    const res = await get(`/bulk-changes/${bulkChangeId}/logs?limit=1000${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json<{ items: Entry[] }>().items;
  };

  it('gives each entry its ICCID and step, and keeps one device’s or one step’s entries', async () => {
    const order = await one<{ id: number }>(
      'SELECT id FROM bulk_change_device WHERE bulk_change_id = $1 AND device_id = $2',
      [bulkChangeId, free.id],
    );
    for (const description of ['Create Rev.io Service Product: Rev.io API', 'AMOP Customer Assignment']) {
      await sql(
        `INSERT INTO change_log (tenant_id, bulk_change_id, bulk_change_device_id, device_id, description, portal_type,
                                 processed_by)
         VALUES ($1, $2, $3, $4, $5, 'm2m', 'test-worker')`,
        [fleet.tenantId, bulkChangeId, order.id, free.id, description],
      );
    }
    const all = await logs();
    expect(all.map((e) => [e.iccid, e.step])).toEqual([
      [owned.iccid, 'validation'],
      [free.iccid, 'rev_service'],
      [free.iccid, 'ownership'],
    ]);
    expect((await logs(`&iccid=${free.iccid}`)).map((e) => e.step)).toEqual(['rev_service', 'ownership']);
    expect(await logs(`&deviceId=${free.id}`)).toEqual(await logs(`&iccid=${free.iccid}`));
    expect((await logs('&step=validation')).map((e) => e.iccid)).toEqual([owned.iccid]);
    expect(await logs(`&iccid=${free.iccid}&step=validation`)).toEqual([]);
    // A rejected identifier has no device: its entries are found by what was submitted.
    const unknown = '8999000000000000017';
    await sql(
      `WITH w AS (INSERT INTO bulk_change_device (tenant_id, bulk_change_id, identifier, status)
                  VALUES ($1, $2, $3, 'ERROR') RETURNING id)
       INSERT INTO change_log (tenant_id, bulk_change_id, bulk_change_device_id, description, portal_type, processed_by)
       SELECT $1, $2, w.id, 'Customer Assignment: Validate Device', 'm2m', 'test-worker' FROM w`,
      [fleet.tenantId, bulkChangeId, unknown],
    );
    expect(await logs(`&iccid=${unknown}`)).toMatchObject([
      { deviceId: null, iccid: null, step: 'validation' },
    ]);
    expect((await logs(`&iccid=${free.iccid}`)).map((e) => e.step)).toEqual(['rev_service', 'ownership']);
    const bad = await get(`/bulk-changes/${bulkChangeId}/logs?step=everything`);
    expect(bad.statusCode).toBe(400);
  });
});

describe('the request log', () => {
  let logged: TypedApp;
  const lines: { level: number; msg: string; res?: { statusCode: number } }[] = [];

  beforeAll(async () => {
    logged = await buildApp({
      services: app.services,
      cookieSecret: 'test-cookie-secret-0123456789abcdef',
      logLevel: 'info',
      logStream: new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
          done();
        },
      }),
    });
  });
  afterAll(async () => {
    await logged.close();
  });

  it('writes nothing at info for a quick success, one line for a refusal; Fastify warns of nothing', async () => {
    const ok = await logged.inject({
      method: 'GET',
      url: `/api/v1/bulk-changes/${bulkChangeId}`,
      headers: admin,
    });
    expect(ok.statusCode).toBe(200);
    expect(lines).toEqual([]);
    const refused = await logged.inject({ method: 'GET', url: '/api/v1/devices/abc', headers: admin });
    expect(refused.statusCode).toBe(400);
    expect(lines).toEqual([
      expect.objectContaining({ level: 30, msg: 'request completed', res: { statusCode: 400 } }),
    ]);
    expect(warnings.filter((code) => code.startsWith('FSTDEP'))).toEqual([]);
  });
});
