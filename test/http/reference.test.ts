import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TypedApp } from '../../src/http/app.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestApp } from '../helpers/app.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

type Headers = { authorization: string };
interface ListBody<T> {
  items: T[];
  nextCursor: string | null;
}
interface DeviceItem {
  id: number;
  serviceProviderId: number;
  iccid: string;
  msisdn: string | null;
  imei: string | null;
  status: string;
  customerId: number | null;
  customerName: string | null;
  siteId: number | null;
  siteName: string | null;
  carrierRatePlan: string | null;
  communicationPlan: string | null;
  scheduledCarrierPlan: { ratePlan: string; communicationPlan: string | null; effectiveDate: string } | null;
  activatedAt: string | null;
  updatedAt: string;
  archived: boolean;
}
interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; message: string }[] };
}

let database: TestDatabase;
let app: TypedApp;
let admin: Headers;
let operator: Headers;
let contosoAdmin: Headers;
let northwind: number;
let contoso: number;
/** Northwind's ThingSpace M2M provider (half of its fleet) and Contoso's. */
let provider: number;
let contosoProvider: number;

const sql = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];
const ids = (rows: { id: number }[]) => rows.map((r) => r.id);

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 2000 });
  app = await buildTestApp(database);
  admin = await authHeaders(database.db, 'admin@northwind.example');
  operator = await authHeaders(database.db, 'operator@northwind.example');
  contosoAdmin = await authHeaders(database.db, 'admin@contoso.example');
  const tenants = await sql<{ id: number; slug: string }>('SELECT id, slug FROM tenant');
  northwind = tenants.find((t) => t.slug === 'northwind')!.id;
  contoso = tenants.find((t) => t.slug === 'contoso')!.id;
  const providerOf = async (tenantId: number) =>
    (
      await sql<{ id: number }>(
        `SELECT id FROM service_provider WHERE tenant_id = $1 AND integration = 'thingspace' AND portal_type = 'm2m'`,
        [tenantId],
      )
    )[0]!.id;
  provider = await providerOf(northwind);
  contosoProvider = await providerOf(contoso);
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

async function get(url: string, headers?: Headers) {
  return app.inject({ method: 'GET', url: `/api/v1${url}`, ...(headers ? { headers } : {}) });
}

async function getOk<T>(url: string, headers: Headers): Promise<T> {
  const res = await get(url, headers);
  expect(res.statusCode, res.body).toBe(200);
  return res.json<T>();
}

/** Follows nextCursor to the end; every page but the last is full. */
async function walk<T>(url: string, headers: Headers, limit: number): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  const join = url.includes('?') ? '&' : '?';
  do {
    const page: ListBody<T> = await getOk<ListBody<T>>(
      `${url}${join}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
      headers,
    );
    pages += 1;
    if (page.nextCursor !== null) expect(page.items).toHaveLength(limit);
    items.push(...page.items);
    cursor = page.nextCursor;
    expect(pages).toBeLessThan(100);
  } while (cursor !== null);
  return { items, pages };
}

async function expect400(url: string, path: string) {
  const res = await get(url, admin);
  expect(res.statusCode, res.body).toBe(400);
  const body = res.json<ErrorBody>();
  expect(body.error.code).toBe('invalid_input');
  expect(body.error.details?.map((d) => d.path)).toContain(path);
}

async function expect404(url: string, headers: Headers) {
  const res = await get(url, headers);
  expect(res.statusCode, res.body).toBe(404);
  expect(res.json<ErrorBody>().error.code).toBe('not_found');
}

/** The device list as the API must show it, straight from the tables. */
async function devicesBySql(where: string, values: unknown[]): Promise<DeviceItem[]> {
  return sql<DeviceItem>(
    `SELECT d.id, d.service_provider_id AS "serviceProviderId", d.iccid, d.msisdn, d.imei, d.status,
            dt.customer_id AS "customerId", c.name AS "customerName",
            CASE WHEN dt.customer_id IS NOT NULL THEN dt.site_id END AS "siteId",
            CASE WHEN dt.customer_id IS NOT NULL THEN st.name END AS "siteName",
            d.carrier_rate_plan AS "carrierRatePlan", d.communication_plan AS "communicationPlan",
            (SELECT jsonb_build_object('ratePlan', s.carrier_rate_plan, 'communicationPlan', s.communication_plan,
                                       'effectiveDate', to_char(s.effective_date, 'YYYY-MM-DD'))
             FROM scheduled_carrier_plan_change s WHERE s.device_id = d.id AND s.status = 'scheduled'
             ORDER BY s.effective_date DESC, s.id DESC LIMIT 1) AS "scheduledCarrierPlan",
            to_char(d.activated_at, 'YYYY-MM-DD') AS "activatedAt",
            to_char(d.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "updatedAt",
            d.is_archived AS archived
     FROM device d
     LEFT JOIN device_tenant dt ON dt.device_id = d.id AND dt.is_active AND NOT dt.is_deleted
     LEFT JOIN customer c ON c.id = dt.customer_id
     LEFT JOIN site st ON st.id = dt.site_id
     WHERE ${where} ORDER BY d.id`,
    values,
  );
}

describe('authentication', () => {
  it.each([
    '/service-providers',
    '/devices',
    '/devices/1/history',
    '/customers',
    '/customers/1/sites',
    '/rate-plans?kind=customer',
    '/rate-pools',
  ])('GET %s without a principal answers 401 in the error shape', async (url) => {
    const res = await get(url);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) as string } });
  });
});

describe('GET /service-providers', () => {
  it("lists the tenant's providers, exactly id, name, integration, portalType and hasCarrierAccount", async () => {
    const body = await getOk<ListBody<Record<string, unknown>>>('/service-providers', admin);
    const expected = await sql(
      `SELECT id, name, integration, portal_type AS "portalType", credentials_id IS NOT NULL AS "hasCarrierAccount"
       FROM service_provider
       WHERE tenant_id = $1 ORDER BY name, id`,
      [northwind],
    );
    expect(expected).toHaveLength(3);
    expect(body).toEqual({ items: expected, nextCursor: null });
    expect(JSON.stringify(body)).not.toMatch(/credential|secret|password/i);
  });
});

describe('GET /devices', () => {
  // Whole-fleet walks ask for archived devices too (the default leaves them out:
  // fleet-archived.test.ts), so their counts are the seed's.
  it('walks every page of a provider with no duplicate or gap, equal to a direct SQL count', async () => {
    const { items, pages } = await walk<DeviceItem>(
      `/devices?serviceProviderId=${provider}&archived=include`,
      admin,
      137,
    );
    const expected = await sql<{ id: number }>(
      'SELECT id FROM device WHERE service_provider_id = $1 ORDER BY id',
      [provider],
    );
    expect(expected.length).toBe(800);
    expect(pages).toBe(Math.ceil(800 / 137));
    expect(new Set(ids(items)).size).toBe(items.length);
    expect(ids(items)).toEqual(ids(expected));
  });

  it('answers every field of a device, owner and site from device_tenant, archived ones flagged', async () => {
    const first = await getOk<ListBody<DeviceItem>>(
      `/devices?serviceProviderId=${provider}&archived=include&limit=1000`,
      admin,
    );
    const expected = await devicesBySql('d.service_provider_id = $1', [provider]);
    expect(first).toEqual({ items: expected, nextCursor: null });
    expect(first.items.every((d) => Object.keys(d).length === 16)).toBe(true);
    expect(first.items.some((d) => d.customerName !== null && d.siteName !== null)).toBe(true);
    expect(first.items.some((d) => d.archived)).toBe(true);
    expect(first.items.some((d) => d.customerId !== null && d.siteId !== null)).toBe(true);
    expect(first.items.some((d) => d.activatedAt === null)).toBe(true);
  });

  it('finds devices by ICCID prefix', async () => {
    const [device] = await sql<{ iccid: string }>(
      'SELECT iccid FROM device WHERE tenant_id = $1 ORDER BY id OFFSET 123 LIMIT 1',
      [northwind],
    );
    const prefix = device!.iccid.slice(0, 17);
    const body = await getOk<ListBody<DeviceItem>>(`/devices?q=${prefix}`, admin);
    const expected = await sql<{ id: number }>(
      `SELECT id FROM device WHERE tenant_id = $1 AND left(iccid, 17) = $2 ORDER BY id`,
      [northwind, prefix],
    );
    expect(expected.length).toBeGreaterThan(1);
    expect(ids(body.items)).toEqual(ids(expected));
    expect(body.items.every((d) => d.iccid.startsWith(prefix))).toBe(true);

    const exact = await getOk<ListBody<DeviceItem>>(`/devices?q=${device!.iccid}`, admin);
    expect(exact.items.map((d) => d.iccid)).toEqual([device!.iccid]);
  });

  it('finds devices by MSISDN prefix and by IMEI prefix', async () => {
    const byMsisdn = await getOk<ListBody<DeviceItem>>('/devices?q=1201000001', admin);
    expect(byMsisdn.items.map((d) => d.msisdn)).toEqual(
      Array.from({ length: 10 }, (_, i) => `1201000001${i}`),
    );

    const [device] = await sql<{ imei: string }>(
      'SELECT imei FROM device WHERE tenant_id = $1 ORDER BY id OFFSET 500 LIMIT 1',
      [northwind],
    );
    const byImei = await getOk<ListBody<DeviceItem>>(`/devices?q=${device!.imei}`, admin);
    expect(byImei.items.map((d) => d.imei)).toEqual([device!.imei]);
  });

  it('a short prefix pages through every identifier that starts with it', async () => {
    const { items } = await walk<DeviceItem>('/devices?q=89148011&archived=include', admin, 500);
    const expected = await sql<{ id: number }>(
      `SELECT id FROM device WHERE tenant_id = $1 AND iccid LIKE '89148011%' ORDER BY id`,
      [northwind],
    );
    expect(expected.length).toBe(800);
    expect(ids(items)).toEqual(ids(expected));
  });

  it('unassigned=true: no active, non-deleted ownership row with a customer; false: the others', async () => {
    // Three owned devices lose their owner in three different ways.
    const owned = await sql<{ device_id: number }>(
      `SELECT device_id FROM device_tenant WHERE tenant_id = $1 AND customer_id IS NOT NULL ORDER BY device_id LIMIT 4`,
      [northwind],
    );
    const [deleted, inactive, noCustomer, stillOwned] = owned.map((r) => r.device_id);
    await sql('UPDATE device_tenant SET is_deleted = true WHERE device_id = $1', [deleted]);
    await sql('UPDATE device_tenant SET is_active = false WHERE device_id = $1', [inactive]);
    await sql('UPDATE device_tenant SET customer_id = NULL WHERE device_id = $1', [noCustomer]);

    const unassigned = await walk<DeviceItem>('/devices?unassigned=true&archived=include', admin, 1000);
    const expected = await devicesBySql(
      `d.tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM device_tenant x WHERE x.device_id = d.id
         AND x.is_active AND NOT x.is_deleted AND x.customer_id IS NOT NULL)`,
      [northwind],
    );
    expect(unassigned.items).toEqual(expected);
    const unassignedIds = new Set(ids(unassigned.items));
    for (const id of [deleted, inactive, noCustomer]) expect(unassignedIds.has(id!)).toBe(true);
    expect(unassignedIds.has(stillOwned!)).toBe(false);
    expect(unassigned.items.every((d) => d.customerId === null && d.siteId === null)).toBe(true);

    const assigned = await walk<DeviceItem>('/devices?unassigned=false&archived=include', admin, 1000);
    expect(assigned.items.length + unassigned.items.length).toBe(1600);
    expect(assigned.items.every((d) => d.customerId !== null)).toBe(true);
  });

  it('customerId: the devices that customer owns, combined with the other filters', async () => {
    const [top] = await sql<{ customer_id: number; n: number }>(
      `SELECT customer_id, count(*)::int AS n FROM device_tenant
       WHERE tenant_id = $1 AND customer_id IS NOT NULL AND is_active AND NOT is_deleted
       GROUP BY customer_id ORDER BY n DESC, customer_id LIMIT 1`,
      [northwind],
    );
    const customerId = top!.customer_id;
    const all = await walk<DeviceItem>(`/devices?customerId=${customerId}`, admin, 7);
    const expected = await devicesBySql(
      `d.tenant_id = $1 AND EXISTS (SELECT 1 FROM device_tenant x WHERE x.device_id = d.id
         AND x.is_active AND NOT x.is_deleted AND x.customer_id = $2)`,
      [northwind, customerId],
    );
    expect(expected.length).toBe(top!.n);
    expect(all.items).toEqual(expected);

    const narrowed = await getOk<ListBody<DeviceItem>>(
      `/devices?customerId=${customerId}&serviceProviderId=${provider}&status=active&limit=1000`,
      admin,
    );
    const narrowedSql = await sql<{ id: number }>(
      `SELECT d.id FROM device d JOIN device_tenant x ON x.device_id = d.id AND x.is_active AND NOT x.is_deleted
       WHERE x.customer_id = $1 AND d.service_provider_id = $2 AND d.status = 'active' ORDER BY d.id`,
      [customerId, provider],
    );
    expect(narrowedSql.length).toBeGreaterThan(0);
    expect(ids(narrowed.items)).toEqual(ids(narrowedSql));
  });

  it('status filters by carrier status', async () => {
    const { items } = await walk<DeviceItem>('/devices?status=suspended&archived=include', admin, 1000);
    const expected = await sql<{ id: number }>(
      `SELECT id FROM device WHERE tenant_id = $1 AND status = 'suspended' ORDER BY id`,
      [northwind],
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(ids(items)).toEqual(ids(expected));
  });

  it('runs a fixed number of queries whatever the page size (no N+1)', async () => {
    // Counts the statements that read reference tables; the token lookup and any queue polling
    // in the same process are left out, so the figure is exact.
    const reference =
      /from "?(device|device_tenant|device_history|customer|site|service_provider|customer_rate_plan|carrier_rate_plan|customer_rate_pool)\b/i;
    const spy = vi.spyOn(pg.Client.prototype, 'query');
    const count = async (url: string) => {
      spy.mockClear();
      await getOk(url, admin);
      return spy.mock.calls.filter(([text]) => typeof text === 'string' && reference.test(text)).length;
    };
    try {
      const [owned] = await sql<{ customer_id: number; device_id: number }>(
        'SELECT customer_id, device_id FROM device_tenant WHERE tenant_id = $1 AND customer_id IS NOT NULL LIMIT 1',
        [northwind],
      );
      const filter = `serviceProviderId=${provider}&customerId=${owned!.customer_id}`;
      // provider check, customer check, the page
      expect(await count(`/devices?${filter}&limit=5`)).toBe(3);
      expect(await count(`/devices?${filter}&limit=1000`)).toBe(3);
      expect(await count('/devices?limit=1000&unassigned=true')).toBe(1);
      expect(await count('/customers?limit=1')).toBe(1);
      expect(await count('/customers?limit=100')).toBe(1);
      // device check, the page
      expect(await count(`/devices/${owned!.device_id}/history?limit=100`)).toBe(2);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('GET /devices/:id/history', () => {
  it('answers the entries newest first, with who made them, page by page', async () => {
    const [device] = await sql<{ id: number }>('SELECT id FROM device WHERE tenant_id = $1 LIMIT 1', [
      northwind,
    ]);
    const [user] = await sql<{ id: number; name: string }>(
      `SELECT id, name FROM app_user WHERE email = 'admin@northwind.example'`,
    );
    const inserted = await sql<{ id: number; changed_at: Date }>(
      `INSERT INTO device_history (tenant_id, device_id, change_type, before, after, changed_by, changed_at)
       VALUES ($1, $2, 'customer_assignment', NULL, '{"customerId": 7, "siteId": 9}', $3, '2024-01-01T10:00:00Z'),
              ($1, $2, 'customer_rate_plan', '{"ratePlanId": null}', '{"ratePlanId": 3}', NULL, '2024-01-02T10:00:00Z'),
              ($1, $2, 'carrier_rate_plan', '{"ratePlan": "A"}', '{"ratePlan": "B"}', $3, '2024-01-03T10:00:00Z')
       RETURNING id, changed_at`,
      [northwind, device!.id, user!.id],
    );
    const [a, b, c] = inserted.map((r) => r.id);

    // The plan named by id gets its name beside it, when it is one of the tenant's.
    const [plan] = await sql<{ name: string }>(
      'SELECT name FROM customer_rate_plan WHERE id = 3 AND tenant_id = $1',
      [northwind],
    );
    const first = await getOk<ListBody<unknown>>(`/devices/${device!.id}/history?limit=2`, admin);
    expect(first.items).toEqual([
      {
        id: c,
        changeType: 'carrier_rate_plan',
        before: { ratePlan: 'A' },
        after: { ratePlan: 'B' },
        changedBy: { id: user!.id, name: user!.name },
        changedAt: '2024-01-03T10:00:00.000Z',
        bulkChangeId: null,
        bulkChange: null,
      },
      {
        id: b,
        changeType: 'customer_rate_plan',
        before: { ratePlanId: null },
        after: { ratePlanId: 3, ...(plan ? { ratePlanName: plan.name } : {}) },
        changedBy: null,
        changedAt: '2024-01-02T10:00:00.000Z',
        bulkChangeId: null,
        bulkChange: null,
      },
    ]);
    expect(first.nextCursor).not.toBeNull();
    const second = await getOk<ListBody<{ id: number; before: unknown }>>(
      `/devices/${device!.id}/history?limit=2&cursor=${first.nextCursor}`,
      admin,
    );
    expect(ids(second.items)).toEqual([a]);
    expect(second.items[0]!.before).toBeNull();
    expect(second.nextCursor).toBeNull();
  });

  it('answers an empty list for a device with no history, 404 for one that does not exist', async () => {
    const [device] = await sql<{ id: number }>(
      'SELECT id FROM device WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1',
      [northwind],
    );
    expect(await getOk(`/devices/${device!.id}/history`, admin)).toEqual({ items: [], nextCursor: null });
    await expect404('/devices/99999999/history', admin);
  });
});

describe('GET /customers', () => {
  const customerSql = (where: string) => `
    SELECT c.id, c.name, c.kind, c.rev_customer_id AS "revCustomerId", c.active, s.id AS "defaultSiteId"
    FROM customer c LEFT JOIN site s ON s.customer_id = c.id AND s.is_default
    WHERE ${where} ORDER BY c.id`;

  it("pages through all the tenant's customers for an admin, with their default site", async () => {
    const { items, pages } = await walk('/customers', admin, 7);
    const expected = await sql(customerSql('c.tenant_id = $1'), [northwind]);
    expect(expected).toHaveLength(30);
    expect(pages).toBe(5);
    expect(items).toEqual(expected);
    expect(items.some((c) => (c as { kind: string }).kind === 'amop')).toBe(true);
    expect(items.some((c) => (c as { active: boolean }).active === false)).toBe(true);
  });

  it('searches by a case-insensitive part of the name, or the exact Rev customer id', async () => {
    const byName = await getOk<ListBody<{ name: string }>>('/customers?q=lOgIsTiCs', admin);
    const expected = await sql<{ id: number }>(
      `SELECT id FROM customer WHERE tenant_id = $1 AND name ILIKE '%logistics%' ORDER BY id`,
      [northwind],
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(ids(byName.items as unknown as { id: number }[])).toEqual(ids(expected));

    const byRevId = await getOk<ListBody<{ revCustomerId: number }>>('/customers?q=100002', admin);
    expect(byRevId.items.map((c) => c.revCustomerId)).toEqual([100002]);

    // LIKE wildcards are searched for literally.
    expect((await getOk<ListBody<unknown>>('/customers?q=%25', admin)).items).toEqual([]);
  });

  it('shows an operator only the 8 customers it may access', async () => {
    const { items } = await walk<{ id: number }>('/customers', operator, 3);
    const expected = await sql<{ id: number }>(
      `SELECT a.customer_id AS id FROM user_customer_access a JOIN app_user u ON u.id = a.user_id
       WHERE u.email = 'operator@northwind.example' ORDER BY a.customer_id`,
    );
    expect(expected).toHaveLength(8);
    expect(ids(items)).toEqual(ids(expected));
  });
});

describe('GET /customers/:id/sites', () => {
  it("lists a customer's sites, the default first", async () => {
    const [customer] = await sql<{ id: number }>(
      `SELECT customer_id AS id FROM site WHERE tenant_id = $1 GROUP BY customer_id HAVING count(*) = 3 LIMIT 1`,
      [northwind],
    );
    const body = await getOk<ListBody<unknown>>(`/customers/${customer!.id}/sites`, admin);
    const expected = await sql(
      `SELECT id, name, address, is_default AS "isDefault" FROM site WHERE customer_id = $1
       ORDER BY is_default DESC, name, id`,
      [customer!.id],
    );
    expect(expected).toHaveLength(3);
    expect(body).toEqual({ items: expected, nextCursor: null });
    expect(body.items[0]).toMatchObject({ isDefault: true });
  });

  it('answers 404 to an operator for a customer it may not access, 200 for its own', async () => {
    const access = await sql<{ id: number; allowed: boolean }>(
      `SELECT c.id, EXISTS (SELECT 1 FROM user_customer_access a JOIN app_user u ON u.id = a.user_id
                            WHERE u.email = 'operator@northwind.example' AND a.customer_id = c.id) AS allowed
       FROM customer c WHERE c.tenant_id = $1 ORDER BY c.id`,
      [northwind],
    );
    const own = access.find((c) => c.allowed)!.id;
    const other = access.find((c) => !c.allowed)!.id;
    expect((await get(`/customers/${own}/sites`, operator)).statusCode).toBe(200);
    await expect404(`/customers/${other}/sites`, operator);
    await expect404(`/devices?customerId=${other}`, operator);
    expect((await get(`/customers/${other}/sites`, admin)).statusCode).toBe(200);
  });
});

describe('GET /rate-plans and /rate-pools', () => {
  it('kind=customer: the customer rate plans, numbers as numbers', async () => {
    const body = await getOk<ListBody<Record<string, unknown>>>('/rate-plans?kind=customer', admin);
    expect(body.nextCursor).toBeNull();
    expect(body.items).toHaveLength(6);
    expect(body.items).toContainEqual({
      id: expect.any(Number) as number,
      code: 'CRP-10',
      name: 'Telemetry 10 MB',
      dataAllocationMb: 10,
      monthlyRate: 2.5,
    });
    const expected = await sql<{ id: number }>(
      'SELECT id FROM customer_rate_plan WHERE tenant_id = $1 ORDER BY code, id',
      [northwind],
    );
    expect(ids(body.items as { id: number }[])).toEqual(ids(expected));
  });

  it("kind=carrier: that provider's carrier plans", async () => {
    const [jasper] = await sql<{ id: number }>(
      `SELECT id FROM service_provider WHERE tenant_id = $1 AND integration = 'jasper'`,
      [northwind],
    );
    const body = await getOk<ListBody<unknown>>(
      `/rate-plans?kind=carrier&serviceProviderId=${jasper!.id}`,
      admin,
    );
    const expected = await sql(
      `SELECT id, code, name, communication_plan AS "communicationPlan", data_allowance_mb::float8 AS "dataAllowanceMb"
       FROM carrier_rate_plan WHERE service_provider_id = $1 ORDER BY code, id`,
      [jasper!.id],
    );
    expect(expected).toHaveLength(4);
    expect(body).toEqual({ items: expected, nextCursor: null });

    const thingspace = await getOk<ListBody<{ code: string; dataAllowanceMb: number | null }>>(
      `/rate-plans?kind=carrier&serviceProviderId=${provider}`,
      admin,
    );
    expect(thingspace.items.find((p) => p.code === 'M2M-UNL')).toEqual({
      id: expect.any(Number) as number,
      code: 'M2M-UNL',
      name: 'M2M unlimited',
      communicationPlan: null,
      dataAllowanceMb: null,
    });
  });

  it('kind=carrier without serviceProviderId, or no kind, answers 400 naming the field', async () => {
    await expect400('/rate-plans?kind=carrier', '/serviceProviderId');
    await expect400('/rate-plans', '/kind');
    await expect400('/rate-plans?kind=both', '/kind');
  });

  it('/rate-pools: the pools, numbers as numbers', async () => {
    const body = await getOk<ListBody<unknown>>('/rate-pools', admin);
    const expected = await sql(
      `SELECT id, name, shared_data_mb::float8 AS "sharedDataMb" FROM customer_rate_pool
       WHERE tenant_id = $1 ORDER BY name, id`,
      [northwind],
    );
    expect(expected).toHaveLength(3);
    expect(body).toEqual({ items: expected, nextCursor: null });
    expect(body.items).toContainEqual({
      id: expect.any(Number) as number,
      name: 'Fleet pool 10 GB',
      sharedDataMb: 10240,
    });
  });
});

describe('tenant isolation', () => {
  it("answers 404 to a northwind admin for contoso's device, customer, site and provider", async () => {
    const [device] = await sql<{ id: number }>('SELECT id FROM device WHERE tenant_id = $1 LIMIT 1', [
      contoso,
    ]);
    const [customer] = await sql<{ id: number }>('SELECT id FROM customer WHERE tenant_id = $1 LIMIT 1', [
      contoso,
    ]);
    await sql(
      `INSERT INTO device_history (tenant_id, device_id, change_type, after) VALUES ($1, $2, 'customer_assignment', '{}')`,
      [contoso, device!.id],
    );
    expect((await get(`/devices/${device!.id}/history`, contosoAdmin)).statusCode).toBe(200);
    await expect404(`/devices/${device!.id}/history`, admin);
    await expect404(`/customers/${customer!.id}/sites`, admin);
    await expect404(`/devices?customerId=${customer!.id}`, admin);
    await expect404(`/devices?serviceProviderId=${contosoProvider}`, admin);
    await expect404(`/rate-plans?kind=carrier&serviceProviderId=${contosoProvider}`, admin);
  });

  it('never lists contoso rows to a northwind admin', async () => {
    const contosoIds = async (table: string) =>
      new Set(ids(await sql<{ id: number }>(`SELECT id FROM ${table} WHERE tenant_id = $1`, [contoso])));

    const devices = await walk<DeviceItem>('/devices?archived=include', admin, 1000);
    expect(devices.items).toHaveLength(1600);
    const contosoDevices = await contosoIds('device');
    expect(contosoDevices.size).toBe(400);
    expect(devices.items.some((d) => contosoDevices.has(d.id))).toBe(false);
    // Contoso identifiers start with 8914802…; the prefix search stays in the tenant too.
    expect((await getOk<ListBody<unknown>>('/devices?q=8914802', admin)).items).toEqual([]);
    expect((await getOk<ListBody<unknown>>('/devices?q=8914802', contosoAdmin)).items).not.toEqual([]);

    const customers = await walk<{ id: number }>('/customers', admin, 1000);
    const contosoCustomers = await contosoIds('customer');
    expect(customers.items.some((c) => contosoCustomers.has(c.id))).toBe(false);

    for (const [url, table] of [
      ['/service-providers', 'service_provider'],
      ['/rate-plans?kind=customer', 'customer_rate_plan'],
      ['/rate-pools', 'customer_rate_pool'],
    ] as const) {
      const body = await getOk<ListBody<{ id: number }>>(url, admin);
      const foreign = await contosoIds(table);
      expect(body.items.length).toBeGreaterThan(0);
      expect(body.items.some((row) => foreign.has(row.id))).toBe(false);
    }
  });
});

describe('invalid queries', () => {
  it.each([
    ['/devices?status=bogus', '/status'],
    ['/devices?limit=0', '/limit'],
    ['/devices?limit=1001', '/limit'],
    ['/devices?q=12', '/q'],
    ['/devices?q=89a14', '/q'],
    ['/devices?serviceProviderId=x', '/serviceProviderId'],
    ['/devices?unassigned=maybe', '/unassigned'],
    ['/devices?cursor=not-a-cursor', '/cursor'],
    [`/devices?cursor=${Buffer.from('{"id":"1"}').toString('base64url')}`, '/cursor'],
    ['/devices?customerId=1&unassigned=true', '/unassigned'],
    ['/devices/abc/history', '/id'],
    ['/devices/1/history?cursor=nope', '/cursor'],
    ['/customers?limit=0', '/limit'],
    ['/customers?cursor=nope', '/cursor'],
    ['/customers/0/sites', '/id'],
  ])('GET %s answers 400 with details for %s', async (url, path) => {
    await expect400(url, path);
  });
});

describe('OpenAPI', () => {
  it('documents the routes with their query parameters', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    const doc = res.json<{ paths: Record<string, { get?: { parameters?: { name: string }[] } }> }>();
    for (const path of [
      '/api/v1/service-providers',
      '/api/v1/devices',
      '/api/v1/devices/{id}/history',
      '/api/v1/customers',
      '/api/v1/customers/{id}/sites',
      '/api/v1/rate-plans',
      '/api/v1/rate-pools',
    ]) {
      expect(doc.paths[path]?.get, path).toBeDefined();
    }
    const params = doc.paths['/api/v1/devices']!.get!.parameters!.map((p) => p.name);
    expect(params).toEqual(
      expect.arrayContaining([
        'serviceProviderId',
        'q',
        'status',
        'customerId',
        'unassigned',
        'limit',
        'cursor',
      ]),
    );
  });
});
