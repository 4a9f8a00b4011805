import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TypedApp } from '../../src/http/app.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestApp } from '../helpers/app.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { loadFleet, type Fleet } from '../helpers/fleet.ts';

/**
 * Archived devices in the fleet (issue 15): the list, its count and a bulk change's `filter` leave
 * them out unless `archived=include` (or `only`) asks for them, and all three agree on what it selects.
 */

type Headers = Record<string, string>;
interface Row {
  id: number;
  archived: boolean;
}

let database: TestDatabase;
let app: TypedApp;
let fleet: Fleet;
let admin: Headers;
let operator: Headers;
const sql = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 1200 });
  app = await buildTestApp(database);
  fleet = await loadFleet(database.pool);
  admin = await authHeaders(database.db, 'admin@northwind.example');
  operator = await authHeaders(database.db, 'operator@northwind.example');
  // One device in seven archived: owned and unowned ones, of every provider and status.
  await sql(`UPDATE device SET is_archived = (id % 7 = 0)`);
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

async function walk(query: string, headers: Headers = admin): Promise<Row[]> {
  const rows: Row[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: Row[]; nextCursor: string | null } = await get(
      `/devices?${query}&limit=97${cursor ? `&cursor=${cursor}` : ''}`,
      headers,
    );
    rows.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return rows;
}

const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

async function idsWhere(where: string, values: unknown[]): Promise<number[]> {
  return (await sql<{ id: number }>(`SELECT id FROM device WHERE ${where} ORDER BY id`, values)).map(
    (r) => r.id,
  );
}

const WHERE = { exclude: 'NOT is_archived', include: 'true', only: 'is_archived' } as const;

describe('GET /devices and /devices/count with archived=', () => {
  it.each([
    ['', 'exclude', 'iccid'],
    ['archived=exclude&', 'exclude', '-customer'],
    ['archived=include&', 'include', 'customer'],
    ['archived=include&', 'include', '-updatedAt'],
    ['archived=only&', 'only', 'status'],
    ['archived=only&', 'only', 'customer'],
  ] as const)('"%s" (%s), sort %s: the list and its count', async (param, mode, sort) => {
    const rows = await walk(`${param}serviceProviderId=${fleet.thingspace}&sort=${sort}`);
    const expected = await idsWhere(`service_provider_id = $1 AND ${WHERE[mode]}`, [fleet.thingspace]);
    expect(expected.length).toBeGreaterThan(mode === 'only' ? 10 : 100);
    expect(sorted(rows.map((r) => r.id))).toEqual(expected);
    expect(new Set(rows.map((r) => r.archived))).toEqual(
      new Set(mode === 'include' ? [true, false] : [mode === 'only']),
    );
    const count = await get<{ count: number; exact: boolean }>(
      `/devices/count?${param}serviceProviderId=${fleet.thingspace}`,
    );
    expect(count).toEqual({ count: expected.length, exact: true });
  });

  it('the whole tenant, and a limited operator: archived ones only on request', async () => {
    const all = await get<{ count: number }>('/devices/count?archived=include');
    const kept = await get<{ count: number }>('/devices/count');
    const archived = await get<{ count: number }>('/devices/count?archived=only');
    expect(archived.count).toBeGreaterThan(0);
    expect(kept.count + archived.count).toBe(all.count);
    const mine = await walk('sort=customer', operator);
    const mineAll = await walk('sort=customer&archived=include', operator);
    expect(mine.some((r) => r.archived)).toBe(false);
    expect(mineAll.filter((r) => !r.archived).map((r) => r.id)).toEqual(mine.map((r) => r.id));
    expect(mineAll.length).toBeGreaterThan(mine.length);
  });

  it('refuses an unknown value with 400 naming /archived', async () => {
    for (const url of ['/devices?archived=yes', '/devices/count?archived=true']) {
      const res = await app.inject({ method: 'GET', url: `/api/v1${url}`, headers: admin });
      expect(res.statusCode, url).toBe(400);
      const { details } = res.json<{ error: { details: { path: string }[] } }>().error;
      expect(details.map((d) => d.path)).toContain('/archived');
    }
  });
});

describe("a bulk change's filter with archived=", () => {
  const filter = { status: 'active', unassigned: true };

  it('by default selects the unarchived devices the list shows: all eligible, all assigned', async () => {
    const listed = await walk(`serviceProviderId=${fleet.thingspace}&status=active&unassigned=true`);
    expect(listed.length).toBeGreaterThan(50);
    const res = await postAssignment(app, admin, {
      serviceProviderId: fleet.thingspace,
      customerId: fleet.amopCustomer.id,
      filter,
      dryRun: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    const { devices } = res.json<{ devices: { deviceId: number; eligible: boolean }[] }>();
    expect(sorted(devices.map((d) => d.deviceId))).toEqual(sorted(listed.map((r) => r.id)));
    expect(devices.every((d) => d.eligible)).toBe(true);
  });

  it('with include, selects the archived ones too, which the assignment refuses', async () => {
    const archived = await idsWhere(
      `service_provider_id = $1 AND status = 'active' AND is_archived AND NOT EXISTS (
         SELECT 1 FROM device_tenant o WHERE o.device_id = device.id AND o.is_active AND NOT o.is_deleted
           AND o.customer_id IS NOT NULL)`,
      [fleet.thingspace],
    );
    expect(archived.length).toBeGreaterThan(0);
    const listed = await walk(
      `serviceProviderId=${fleet.thingspace}&status=active&unassigned=true&archived=include`,
    );
    const res = await postAssignment(app, admin, {
      serviceProviderId: fleet.thingspace,
      customerId: fleet.amopCustomer.id,
      filter: { ...filter, archived: 'include' },
      dryRun: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    const { devices } = res.json<{ devices: { deviceId: number; eligible: boolean; message: string }[] }>();
    expect(sorted(devices.map((d) => d.deviceId))).toEqual(sorted(listed.map((r) => r.id)));
    const refused = devices.filter((d) => !d.eligible);
    expect(sorted(refused.map((d) => d.deviceId))).toEqual(archived);
    expect(new Set(refused.map((d) => d.message))).toEqual(new Set(['Ineligible: device is archived.']));
  });

  it('submitted, works on exactly the unarchived devices; an unknown value is 400', async () => {
    const expected = await walk(`serviceProviderId=${fleet.thingspace}&status=active&unassigned=true`);
    const res = await postAssignment(app, admin, {
      serviceProviderId: fleet.thingspace,
      customerId: fleet.amopCustomer.id,
      filter: { ...filter, archived: 'exclude' },
    });
    expect(res.statusCode, res.body).toBe(202);
    const orders = await sql<{ device_id: number; is_archived: boolean; status: string }>(
      `SELECT w.device_id, d.is_archived, w.status FROM bulk_change_device w JOIN device d ON d.id = w.device_id
       WHERE w.bulk_change_id = $1`,
      [res.json<{ id: number }>().id],
    );
    expect(sorted(orders.map((o) => o.device_id))).toEqual(sorted(expected.map((r) => r.id)));
    expect(orders.filter((o) => o.is_archived || o.status === 'ERROR')).toEqual([]);

    const bad = await postAssignment(app, admin, {
      serviceProviderId: fleet.thingspace,
      customerId: fleet.amopCustomer.id,
      filter: { ...filter, archived: 'all' },
      dryRun: true,
    });
    expect(bad.statusCode).toBe(400);
    const { details } = bad.json<{ error: { details: { path: string }[] } }>().error;
    expect(details.map((d) => d.path)).toContain('/filter/archived');
  });
});
