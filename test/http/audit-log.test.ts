import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';

/**
 * Issue 12, rule 8: a refused request (a viewer submitting, an operator naming a customer outside
 * its list, a viewer cancelling) writes nothing to the bulk-change tables, answers 403 / 404, and
 * leaves an audit event an administrator can read. Bad input is not a refusal and is not audited.
 */

type Headers = Record<string, string>;
interface AuditEvent {
  id: number;
  user: { email: string | null };
  action: string;
  outcome: string;
  customerId: number | null;
  deviceCount: number | null;
  reason: string;
  details: Record<string, unknown>;
}

let database: TestDatabase;
let app: TestApp;
let fleet: Fleet;
let admin: Headers;
let operator: Headers;
let viewer: Headers;
let contosoAdmin: Headers;
/** A customer of the tenant that operator@northwind.example may not access. */
let forbiddenCustomer: number;

const count = async (table: string) =>
  (await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;
const bulkTables = async () => [
  await count('bulk_change'),
  await count('bulk_change_device'),
  await count('change_log'),
  await count('pgboss.job'),
];

async function auditLog(headers: Headers = admin) {
  const res = await app.inject({ method: 'GET', url: '/api/v1/audit-events?limit=100', headers });
  return res;
}
const events = async () => (await auditLog()).json<{ items: AuditEvent[] }>().items;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 2000 });
  app = await buildTestAppWithServices(database);
  fleet = await loadFleet(database.pool);
  admin = await authHeaders(database.db, 'admin@northwind.example');
  operator = await authHeaders(database.db, 'operator@northwind.example');
  viewer = await authHeaders(database.db, 'viewer@northwind.example');
  contosoAdmin = await authHeaders(database.db, 'admin@contoso.example');
  forbiddenCustomer = (
    await database.pool.query<{ id: number }>(
      `SELECT c.id FROM customer c WHERE c.tenant_id = $1 AND c.id NOT IN (
         SELECT a.customer_id FROM user_customer_access a JOIN app_user u ON u.id = a.user_id
         WHERE u.email = 'operator@northwind.example') ORDER BY c.id LIMIT 1`,
      [fleet.tenantId],
    )
  ).rows[0]!.id;
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

describe('audit log of refused requests', () => {
  it('starts empty, and only administrators may read it', async () => {
    expect(await events()).toEqual([]);
    expect((await auditLog(operator)).statusCode).toBe(403);
    expect((await auditLog(viewer)).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/api/v1/audit-events' })).statusCode).toBe(401);
  });

  it('records a viewer submitting: 403, nothing written to the bulk-change tables', async () => {
    const devices = await freeDevices(database.pool, fleet.thingspace, 3);
    const before = await bulkTables();
    const res = await postAssignment(app, viewer, {
      serviceProviderId: fleet.thingspace,
      customerId: fleet.amopCustomer.id,
      devices,
    });
    expect(res.statusCode).toBe(403);
    expect(await bulkTables()).toEqual(before);
    const [event] = await events();
    expect(event).toMatchObject({
      user: { email: 'viewer@northwind.example' },
      action: 'bulk_change.submit',
      outcome: 'refused',
      customerId: fleet.amopCustomer.id,
      deviceCount: 3,
      details: { source: 'api', serviceProviderId: fleet.thingspace, dryRun: false },
    });
    expect(event!.reason).toMatch(/viewer|may not|permission/i);
  });

  it('records an operator naming a customer outside its list: 404 (the id is not confirmed), audited', async () => {
    const devices = await freeDevices(database.pool, fleet.thingspace, 2);
    const before = await bulkTables();
    const res = await postAssignment(app, operator, {
      serviceProviderId: fleet.thingspace,
      customerId: forbiddenCustomer,
      devices,
    });
    expect(res.statusCode).toBe(404);
    expect(await bulkTables()).toEqual(before);
    const [event] = await events();
    expect(event).toMatchObject({
      user: { email: 'operator@northwind.example' },
      action: 'bulk_change.submit',
      customerId: forbiddenCustomer,
      deviceCount: 2,
    });
    expect(event!.reason).toContain(`(${forbiddenCustomer}) is not among the caller's customers`);
  });

  it('does not audit bad input or a customer that does not exist', async () => {
    const before = (await events()).length;
    const missing = await postAssignment(app, operator, {
      serviceProviderId: fleet.thingspace,
      customerId: 999_999_999,
      devices: ['89148000000000000001'],
    });
    expect(missing.statusCode).toBe(404);
    const bad = await postAssignment(app, admin, {
      serviceProviderId: fleet.thingspace,
      customerId: fleet.amopCustomer.id,
      devices: [],
    });
    expect(bad.statusCode).toBe(400);
    expect(await events()).toHaveLength(before);
  });

  it('records a viewer cancelling, and keeps each tenant’s events to itself', async () => {
    const devices = await freeDevices(database.pool, fleet.thingspace, 2);
    const created = await postAssignment(app, admin, {
      serviceProviderId: fleet.thingspace,
      customerId: fleet.amopCustomer.id,
      devices,
    });
    expect(created.statusCode).toBe(202);
    const id = created.json<{ id: number }>().id;
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/bulk-changes/${id}/cancel`,
      headers: viewer,
    });
    expect(res.statusCode).toBe(403);
    const [event] = await events();
    expect(event).toMatchObject({
      user: { email: 'viewer@northwind.example' },
      action: 'bulk_change.cancel',
      details: { bulkChangeId: id },
    });
    const other = await auditLog(contosoAdmin);
    expect(other.statusCode).toBe(200);
    expect(other.json<{ items: AuditEvent[] }>().items).toEqual([]);
  });

  it('pages newest first with a cursor', async () => {
    const all = await events();
    expect(all.length).toBeGreaterThanOrEqual(3);
    const first = await app.inject({ method: 'GET', url: '/api/v1/audit-events?limit=2', headers: admin });
    const page1 = first.json<{ items: AuditEvent[]; nextCursor: string | null }>();
    expect(page1.items.map((e) => e.id)).toEqual(all.slice(0, 2).map((e) => e.id));
    expect(page1.nextCursor).not.toBeNull();
    const second = await app.inject({
      method: 'GET',
      url: `/api/v1/audit-events?limit=2&cursor=${encodeURIComponent(page1.nextCursor!)}`,
      headers: admin,
    });
    expect(second.json<{ items: AuditEvent[] }>().items.map((e) => e.id)).toEqual(
      all.slice(2, 4).map((e) => e.id),
    );
  });
});
