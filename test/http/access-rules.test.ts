import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';

/**
 * Security review, issue 18 item 4: a user limited to some customers sees unassigned devices and
 * those of its customers, nothing else — in the device list (every filter) and in a device's
 * history. A customer outside the list answers 404 exactly like one that does not exist.
 */

type Headers = Record<string, string>;
interface DeviceItem {
  id: number;
  iccid: string;
  customerId: number | null;
  siteId: number | null;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

let database: TestDatabase;
let app: TestApp;
let fleet: Fleet;
let admin: Headers;
let operator: Headers;
/** The customers operator@northwind.example may access. */
let allowed: number[];
/** Devices of the tenant: one owned by a customer the operator may not access, one of its own, one free. */
let foreign: { id: number; iccid: string; customerId: number };
let own: { id: number; customerId: number };
let free: { id: number };

const sql = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 3000 });
  app = await buildTestAppWithServices(database);
  fleet = await loadFleet(database.pool);
  admin = await authHeaders(database.db, 'admin@northwind.example');
  operator = await authHeaders(database.db, 'operator@northwind.example');
  allowed = (
    await sql<{ customer_id: number }>(
      `SELECT a.customer_id FROM user_customer_access a JOIN app_user u ON u.id = a.user_id
       WHERE u.email = 'operator@northwind.example' ORDER BY a.customer_id`,
    )
  ).map((r) => r.customer_id);
  const owned = (mine: boolean) =>
    sql<{ id: number; iccid: string; customer_id: number }>(
      `SELECT d.id, d.iccid, dt.customer_id FROM device d
       JOIN device_tenant dt ON dt.device_id = d.id AND dt.is_active AND NOT dt.is_deleted
       WHERE d.tenant_id = $1 AND dt.customer_id IS NOT NULL AND (dt.customer_id = ANY($2::bigint[])) = $3
       ORDER BY d.id LIMIT 1`,
      [fleet.tenantId, allowed, mine],
    ).then((rows) => rows[0]!);
  const f = await owned(false);
  foreign = { id: f.id, iccid: f.iccid, customerId: f.customer_id };
  const o = await owned(true);
  own = { id: o.id, customerId: o.customer_id };
  free = (
    await sql<{ id: number }>(
      `SELECT d.id FROM device d WHERE d.tenant_id = $1
         AND NOT EXISTS (SELECT 1 FROM device_tenant dt WHERE dt.device_id = d.id) ORDER BY d.id LIMIT 1`,
      [fleet.tenantId],
    )
  )[0]!;
  // One history entry each, as a bulk change would have written.
  await sql(
    `INSERT INTO device_history (tenant_id, device_id, change_type, before, after)
     SELECT $1, id, 'customer_assignment', '{"customerId": null}', '{"customerId": 1}'
     FROM unnest($2::bigint[]) AS id`,
    [fleet.tenantId, [foreign.id, own.id, free.id]],
  );
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

async function walk(query: string, headers: Headers): Promise<DeviceItem[]> {
  const items: DeviceItem[] = [];
  let cursor: string | null = null;
  do {
    const url: string = `/api/v1/devices?limit=1000${query}${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await app.inject({ method: 'GET', url, headers });
    expect(res.statusCode, res.body).toBe(200);
    const page = res.json<Page<DeviceItem>>();
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

/** The rule, in SQL: no owner, or an owner among `allowed`. */
async function visibleIds(extraWhere = 'true'): Promise<number[]> {
  const rows = await sql<{ id: number }>(
    `SELECT d.id FROM device d
     LEFT JOIN device_tenant o ON o.device_id = d.id AND o.tenant_id = d.tenant_id
                               AND o.is_active AND NOT o.is_deleted
     WHERE d.tenant_id = $1 AND (o.customer_id IS NULL OR o.customer_id = ANY($2::bigint[]))
       AND NOT d.is_archived AND ${extraWhere}
     ORDER BY d.id`,
    [fleet.tenantId, allowed],
  );
  return rows.map((r) => r.id);
}

describe('GET /devices for a user limited to some customers', () => {
  it('lists unassigned devices and those of its customers only: the set SQL gives', async () => {
    const items = await walk('', operator);
    expect(items.map((d) => d.id)).toEqual(await visibleIds());
    expect(items.map((d) => d.id)).not.toContain(foreign.id);
    expect(items.map((d) => d.id)).toEqual(expect.arrayContaining([own.id, free.id]));
    for (const item of items) {
      if (item.customerId !== null) expect(allowed).toContain(item.customerId);
    }
    // Not an empty answer that passes trivially: the tenant has devices of other customers.
    const all = await walk('', admin);
    expect(all.length).toBeGreaterThan(items.length);
    expect(all.map((d) => d.id)).toContain(foreign.id);
  });

  it('applies the rule under every filter: owned, status, identifier prefix', async () => {
    const owned = await walk('&unassigned=false', operator);
    expect(owned.map((d) => d.id)).toEqual(
      (await visibleIds()).filter((id) => id !== free.id && owned.some((d) => d.id === id)),
    );
    expect(owned.every((d) => d.customerId !== null && allowed.includes(d.customerId))).toBe(true);
    expect(owned.length).toBeGreaterThan(0);

    const active = await walk('&status=active', operator);
    expect(active.map((d) => d.id)).toEqual(await visibleIds("d.status = 'active'"));

    // Searching the exact ICCID of another customer's device finds nothing.
    expect(await walk(`&q=${foreign.iccid}`, operator)).toEqual([]);
    expect((await walk(`&q=${foreign.iccid}`, admin)).map((d) => d.id)).toEqual([foreign.id]);
  });

  it('still answers 404 for a customer it may not access, and lists its own customer', async () => {
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1/devices?customerId=${foreign.customerId}`,
      headers: operator,
    });
    expect(res.statusCode).toBe(404);
    const mine = await walk(`&customerId=${own.customerId}`, operator);
    expect(mine.map((d) => d.id)).toContain(own.id);
  });
});

describe('GET /devices/:id/history for a user limited to some customers', () => {
  const history = (id: number, headers: Headers) =>
    app.inject({ method: 'GET', url: `/api/v1/devices/${id}/history`, headers });

  it("answers 404 for another customer's device, exactly as for a device that does not exist", async () => {
    const res = await history(foreign.id, operator);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: { code: 'not_found', message: `Device ${foreign.id} not found.` },
    });
    expect((await history(foreign.id, admin)).statusCode).toBe(200);
  });

  it('shows the history of its own customers’ devices and of unassigned ones', async () => {
    for (const id of [own.id, free.id]) {
      const res = await history(id, operator);
      expect(res.statusCode).toBe(200);
      expect(res.json<Page<unknown>>().items).toHaveLength(1);
    }
  });
});

describe('POST /bulk-changes by a user limited to some customers', () => {
  it('answers 404 "Customer N not found" for a customer outside its list, as for an unknown one', async () => {
    const devices = await freeDevices(database.pool, fleet.thingspace, 1);
    const submit = (customerId: number) =>
      postAssignment(app, operator, {
        serviceProviderId: fleet.thingspace,
        customerId,
        devices,
        dryRun: true,
      });
    const forbidden = await submit(foreign.customerId);
    expect(forbidden.statusCode).toBe(404);
    expect(forbidden.json()).toEqual({
      error: { code: 'not_found', message: `Customer ${foreign.customerId} not found.` },
    });
    const unknown = await submit(99_999_999);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({
      error: { code: 'not_found', message: 'Customer 99999999 not found.' },
    });
  });
});
