import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TypedApp } from '../../src/http/app.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestApp } from '../helpers/app.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { loadFleet, type Fleet } from '../helpers/fleet.ts';

/**
 * Issue 15, the fleet: every sort of GET /devices, ascending and descending, walked page by page,
 * is the order SQL gives (empty values last ascending, first descending, ties by id) with no row
 * missing or repeated; the new filters; the count; and a bulk change submitted with a filter
 * selects exactly the devices the list shows.
 */

type Headers = Record<string, string>;
interface Row {
  id: number;
  iccid: string;
  customerId: number | null;
  customerName: string | null;
  siteId: number | null;
  siteName: string | null;
}
interface Page {
  items: Row[];
  nextCursor: string | null;
}

let database: TestDatabase;
let app: TypedApp;
let fleet: Fleet;
let admin: Headers;
let operator: Headers;
let operatorCustomers: number[];
const sql = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 1500 });
  app = await buildTestApp(database);
  fleet = await loadFleet(database.pool);
  admin = await authHeaders(database.db, 'admin@northwind.example');
  operator = await authHeaders(database.db, 'operator@northwind.example');
  operatorCustomers = (
    await sql<{ customer_id: number }>(
      `SELECT a.customer_id FROM user_customer_access a JOIN app_user u ON u.id = a.user_id
       WHERE u.email = 'operator@northwind.example'`,
    )
  ).map((r) => r.customer_id);
  // Empty values and ties in every sorted column: MSISDNs, plans, dates; equal timestamps.
  await sql(`UPDATE device SET msisdn = NULL WHERE id % 11 = 0`);
  await sql(`UPDATE device SET carrier_rate_plan = NULL WHERE id % 13 = 0`);
  await sql(`UPDATE device SET activated_at = NULL WHERE id % 17 = 0`);
  await sql(
    `UPDATE device SET updated_at = '2026-01-01T00:00:00.123456Z'::timestamptz + (id % 5) * interval '1 us'`,
  );
}, 60_000);
afterAll(async () => {
  await app.close();
  await database.drop();
});

async function get<T>(url: string, headers: Headers = admin): Promise<T> {
  const res = await app.inject({ method: 'GET', url: `/api/v1${url}`, headers });
  expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
  return res.json<T>();
}

async function walk(query: string, headers: Headers = admin, limit = 37): Promise<Row[]> {
  const rows: Row[] = [];
  let cursor: string | null = null;
  do {
    const page: Page = await get<Page>(
      `/devices?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
      headers,
    );
    if (page.nextCursor !== null) expect(page.items).toHaveLength(limit);
    rows.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return rows;
}

/**
 * The order each sort must give, in SQL, over `d` (device) and `c` (its owner, if any); archived
 * devices are left out by default (fleet-archived.test.ts has the opt-in).
 */
const ORDER: Record<string, string> = {
  id: 'd.id',
  iccid: 'd.iccid COLLATE "C" {dir}, d.id {dir}',
  msisdn: 'd.msisdn COLLATE "C" {dir}, d.id {dir}',
  status: 'd.status {dir}, d.id {dir}',
  customer: 'lower(c.name) {dir}, c.id {dir}, d.id {dir}',
  carrierRatePlan: 'd.carrier_rate_plan COLLATE "C" {dir}, d.id {dir}',
  activatedAt: 'd.activated_at {dir}, d.id {dir}',
  updatedAt: 'd.updated_at {dir}, d.id {dir}',
};

async function expectedIds(sort: string, where: string, values: unknown[]): Promise<number[]> {
  const descending = sort.startsWith('-');
  const key = descending ? sort.slice(1) : sort;
  const order = (key === 'id' ? 'd.id {dir}' : ORDER[key]!).replaceAll('{dir}', descending ? 'DESC' : 'ASC');
  const rows = await sql<{ id: number }>(
    `SELECT d.id FROM device d
     LEFT JOIN device_tenant o ON o.device_id = d.id AND o.is_active AND NOT o.is_deleted AND o.customer_id IS NOT NULL
     LEFT JOIN customer c ON c.id = o.customer_id
     WHERE ${where} AND NOT d.is_archived ORDER BY ${order}`,
    values,
  );
  return rows.map((r) => r.id);
}

const SORTS = Object.keys(ORDER).flatMap((key) => [key, `-${key}`]);

describe('GET /devices?sort=', () => {
  it.each(SORTS)('%s: a provider page by page, exactly the SQL order', async (sort) => {
    const rows = await walk(`serviceProviderId=${fleet.thingspace}&sort=${sort}`);
    expect(rows.map((r) => r.id)).toEqual(
      await expectedIds(sort, 'd.service_provider_id = $1', [fleet.thingspace]),
    );
  });

  it.each(['iccid', '-updatedAt', 'customer', '-customer', '-msisdn'])(
    '%s: the whole tenant (every provider merged), exactly the SQL order',
    async (sort) => {
      const rows = await walk(`sort=${sort}`, admin, 211);
      expect(rows.map((r) => r.id)).toEqual(await expectedIds(sort, 'd.tenant_id = $1', [fleet.tenantId]));
    },
  );

  it.each(['customer', '-activatedAt', 'status'])(
    '%s: a limited operator sees unassigned devices and its customers’ only, in order',
    async (sort) => {
      const rows = await walk(`serviceProviderId=${fleet.thingspace}&sort=${sort}`, operator);
      const visible = `d.service_provider_id = $1 AND (c.id IS NULL OR c.id = ANY($2::bigint[]))`;
      expect(rows.map((r) => r.id)).toEqual(
        await expectedIds(sort, visible, [fleet.thingspace, operatorCustomers]),
      );
    },
  );

  it('refuses a cursor of another sort, and a sort it does not know, with 400 naming the field', async () => {
    const page = await get<Page>(`/devices?sort=iccid&limit=2`);
    for (const [url, path] of [
      [`/devices?sort=-status&cursor=${page.nextCursor}`, '/cursor'],
      [`/devices?cursor=${page.nextCursor}`, '/cursor'],
      ['/devices?sort=colour', '/sort'],
    ] as const) {
      const res = await app.inject({ method: 'GET', url: `/api/v1${url}`, headers: admin });
      expect(res.statusCode, url).toBe(400);
      expect(
        res.json<{ error: { details: { path: string }[] } }>().error.details.map((d) => d.path),
      ).toContain(path);
    }
  });
});

describe('GET /devices filters, names and count', () => {
  it('siteId and carrierRatePlan filter, each row naming its owner and site', async () => {
    const [site] = await sql<{ site_id: number; customer_id: number; n: number }>(
      `SELECT site_id, customer_id, count(*)::int AS n FROM device_tenant
       WHERE tenant_id = $1 AND customer_id IS NOT NULL AND is_active AND NOT is_deleted
       GROUP BY 1, 2 ORDER BY n DESC LIMIT 1`,
      [fleet.tenantId],
    );
    const atSite = await walk(`siteId=${site!.site_id}&sort=-iccid`);
    expect(atSite).toHaveLength(site!.n);
    const [names] = await sql<{ customer: string; site: string }>(
      `SELECT c.name AS customer, s.name AS site FROM site s JOIN customer c ON c.id = s.customer_id WHERE s.id = $1`,
      [site!.site_id],
    );
    expect(new Set(atSite.map((r) => `${r.customerId}/${r.customerName}/${r.siteId}/${r.siteName}`))).toEqual(
      new Set([`${site!.customer_id}/${names!.customer}/${site!.site_id}/${names!.site}`]),
    );

    const onPlan = await walk(
      `serviceProviderId=${fleet.thingspace}&carrierRatePlan=${fleet.thingspacePlan}`,
    );
    const planIds = await sql<{ id: number }>(
      `SELECT id FROM device WHERE service_provider_id = $1 AND carrier_rate_plan = $2 AND NOT is_archived ORDER BY id`,
      [fleet.thingspace, fleet.thingspacePlan],
    );
    expect(planIds.length).toBeGreaterThan(0);
    expect(onPlan.map((r) => r.id)).toEqual(planIds.map((r) => r.id));
  });

  it('refuses a plan without its provider, and a site with unassigned=true (400); a foreign site is 404', async () => {
    for (const [url, status, path] of [
      [`/devices?carrierRatePlan=${fleet.thingspacePlan}`, 400, '/serviceProviderId'],
      [`/devices/count?carrierRatePlan=${fleet.thingspacePlan}`, 400, '/serviceProviderId'],
      ['/devices?siteId=1&unassigned=true', 400, '/unassigned'],
    ] as const) {
      const res = await app.inject({ method: 'GET', url: `/api/v1${url}`, headers: admin });
      expect(res.statusCode, url).toBe(status);
      expect(
        res.json<{ error: { details: { path: string }[] } }>().error.details.map((d) => d.path),
      ).toContain(path);
    }
    const [foreignSite] = await sql<{ id: number }>(
      `SELECT s.id FROM site s WHERE s.tenant_id = $1 AND NOT s.customer_id = ANY($2::bigint[]) LIMIT 1`,
      [fleet.tenantId, operatorCustomers],
    );
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1/devices?siteId=${foreignSite!.id}`,
      headers: operator,
    });
    expect(res.statusCode).toBe(404);
  });

  it.each([
    ['', admin],
    ['serviceProviderId=PROVIDER&status=active', admin],
    ['unassigned=true', admin],
    ['unassigned=false&sort=customer', operator],
  ] as const)('count of "%s" is the number of rows the list walks', async (query, headers) => {
    const q = query.replace('PROVIDER', String(fleet.thingspace));
    const rows = await walk(q, headers, 500);
    const filter = q.replace(/&?sort=[^&]*/, '');
    const { count, exact } = await get<{ count: number; exact: boolean }>(
      `/devices/count?${filter}`,
      headers,
    );
    expect({ count, exact }).toEqual({ count: rows.length, exact: true });
    const capped = await get<{ count: number; exact: boolean }>(`/devices/count?${filter}&upTo=10`, headers);
    expect(capped).toEqual({ count: Math.min(10, rows.length), exact: rows.length < 10 });
  });
});

describe('a bulk change submitted with a filter', () => {
  it('selects exactly the devices the list shows for that filter', async () => {
    const filter = { status: 'active', carrierRatePlan: fleet.thingspacePlan, q: '89148' };
    const query = new URLSearchParams({ serviceProviderId: String(fleet.thingspace), ...filter }).toString();
    const listed = await walk(`${query}&sort=-iccid`);
    expect(listed.length).toBeGreaterThan(20);
    const res = await postAssignment(app, admin, {
      serviceProviderId: fleet.thingspace,
      customerId: fleet.amopCustomer.id,
      filter,
    });
    expect(res.statusCode, res.body).toBe(202);
    const orders = await sql<{ device_id: number }>(
      'SELECT device_id FROM bulk_change_device WHERE bulk_change_id = $1',
      [res.json<{ id: number }>().id],
    );
    expect(orders.map((o) => o.device_id).sort((a, b) => a - b)).toEqual(
      listed.map((r) => r.id).sort((a, b) => a - b),
    );
  });

  it('by site: the same devices as GET /devices?siteId=', async () => {
    const [site] = await sql<{ site_id: number }>(
      `SELECT o.site_id FROM device_tenant o JOIN device d ON d.id = o.device_id
       WHERE o.tenant_id = $1 AND o.customer_id IS NOT NULL AND o.is_active AND NOT o.is_deleted
         AND d.service_provider_id = $2
       GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
      [fleet.tenantId, fleet.thingspace],
    );
    const listed = await walk(`serviceProviderId=${fleet.thingspace}&siteId=${site!.site_id}`);
    const res = await postAssignment(app, admin, {
      serviceProviderId: fleet.thingspace,
      customerId: fleet.amopCustomer.id,
      filter: { siteId: site!.site_id },
      dryRun: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    const judged = res.json<{ devices: { deviceId: number }[] }>().devices.map((d) => d.deviceId);
    expect(judged.sort((a, b) => a - b)).toEqual(listed.map((r) => r.id).sort((a, b) => a - b));
  });
});
