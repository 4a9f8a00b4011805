import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReferenceService, type ReferenceService } from '../../src/services/reference.service.ts';
import type { Principal } from '../../src/services/principal.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { loadFleet, type Fleet } from '../helpers/fleet.ts';

/**
 * Security review, issue 18 item 4: "all devices matching this filter" of a bulk change resolves to
 * the devices the principal may see — the set `GET /devices` pages through for the same filter —
 * so a dry run never names another customer's device.
 */

let database: TestDatabase;
let reference: ReferenceService;
let fleet: Fleet;
let operator: Principal;
let admin: Principal;

const sql = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];

async function principalOf(email: string): Promise<Principal> {
  const [user] = await sql<{
    id: number;
    tenant_id: number;
    role: Principal['role'];
    all_customers: boolean;
  }>('SELECT id, tenant_id, role, all_customers FROM app_user WHERE email = $1', [email]);
  const access = await sql<{ customer_id: number }>(
    'SELECT customer_id FROM user_customer_access WHERE user_id = $1 ORDER BY customer_id',
    [user!.id],
  );
  return {
    userId: user!.id,
    tenantId: user!.tenant_id,
    email,
    name: email,
    role: user!.role,
    allCustomers: user!.all_customers,
    customerIds: access.map((a) => a.customer_id),
    via: 'token',
  };
}

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 2000 });
  reference = createReferenceService({ db: database.db });
  fleet = await loadFleet(database.pool);
  operator = await principalOf('operator@northwind.example');
  admin = await principalOf('admin@northwind.example');
});
afterAll(async () => {
  await database.drop();
});

describe('findMatchingIdentifiers', () => {
  const resolve = (principal: Principal) =>
    reference.findMatchingIdentifiers(principal, {
      serviceProviderId: fleet.thingspace,
      kind: 'iccid',
      filter: { status: 'active' },
      limit: 100_001,
    });

  it("gives a limited principal unassigned devices and its customers' only, in the list's order", async () => {
    const expected = await sql<{ iccid: string }>(
      `SELECT d.iccid FROM device d
       LEFT JOIN device_tenant o ON o.device_id = d.id AND o.tenant_id = d.tenant_id
                                 AND o.is_active AND NOT o.is_deleted
       WHERE d.tenant_id = $1 AND d.service_provider_id = $2 AND d.status = 'active'
         AND (o.customer_id IS NULL OR o.customer_id = ANY($3::bigint[]))
         AND NOT d.is_archived -- left out unless the filter asks for them
       ORDER BY d.id`,
      [fleet.tenantId, fleet.thingspace, operator.customerIds],
    );
    const identifiers = await resolve(operator);
    expect(identifiers).toEqual(expected.map((r) => r.iccid));

    // The same devices, in the same order, as the device list shows the principal.
    const listed = await reference.listDevices(
      operator,
      { serviceProviderId: fleet.thingspace, status: 'active' },
      { sort: { key: 'id', descending: false }, cursor: undefined, limit: 100_001 },
    );
    expect(listed.items.map((d) => d.iccid)).toEqual(identifiers);
  });

  it('gives a principal with every customer all matching devices, other customers’ included', async () => {
    const all = await resolve(admin);
    const limited = await resolve(operator);
    expect(all.length).toBeGreaterThan(limited.length);
    expect(all).toEqual(expect.arrayContaining(limited));
  });
});
