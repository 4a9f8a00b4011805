import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isValidLuhn } from '../../src/services/identifiers.ts';
import { DEMO_LOGINS, seedDemoData } from '../../src/services/seed.service.ts';
import { verifyPassword } from '../../src/services/passwords.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const DEVICES = 5000;
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: DEVICES });
});
afterAll(async () => {
  await database.drop();
});

const q = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];

describe('demo seed', () => {
  it('creates exactly the requested number of devices, split over two tenants', async () => {
    const rows = await q<{ slug: string; n: number }>(
      'SELECT t.slug, count(d.id)::int AS n FROM tenant t LEFT JOIN device d ON d.tenant_id = t.id GROUP BY t.slug ORDER BY t.slug',
    );
    expect(rows).toEqual([
      { slug: 'contoso', n: 1000 },
      { slug: 'northwind', n: 4000 },
    ]);
  });

  it('gives every device a Luhn-valid ICCID and IMEI, unique across the whole database', async () => {
    const rows = await q<{ iccid: string; imei: string; msisdn: string }>(
      'SELECT iccid, imei, msisdn FROM device',
    );
    expect(rows).toHaveLength(DEVICES);
    expect(rows.every((r) => /^\d{19,20}$/.test(r.iccid) && isValidLuhn(r.iccid))).toBe(true);
    expect(rows.every((r) => /^\d{15}$/.test(r.imei) && isValidLuhn(r.imei))).toBe(true);
    expect(new Set(rows.map((r) => r.iccid)).size).toBe(DEVICES);
    expect(new Set(rows.map((r) => r.imei)).size).toBe(DEVICES);
    expect(new Set(rows.map((r) => r.msisdn)).size).toBe(DEVICES);
  });

  it('per tenant: a ThingSpace M2M, a Jasper M2M and a Mobility provider, each with devices and carrier plans', async () => {
    const rows = await q<{
      slug: string;
      integration: string;
      portal_type: string;
      devices: number;
      plans: number;
    }>(`
      SELECT t.slug, sp.integration, sp.portal_type,
             (SELECT count(*)::int FROM device d WHERE d.service_provider_id = sp.id) AS devices,
             (SELECT count(*)::int FROM carrier_rate_plan p WHERE p.service_provider_id = sp.id) AS plans
      FROM service_provider sp JOIN tenant t ON t.id = sp.tenant_id ORDER BY t.slug, sp.id`);
    expect(rows.map((r) => `${r.slug}:${r.integration}:${r.portal_type}`)).toEqual([
      'contoso:thingspace:m2m',
      'contoso:jasper:m2m',
      'contoso:thingspace:mobility',
      'northwind:thingspace:m2m',
      'northwind:jasper:m2m',
      'northwind:thingspace:mobility',
    ]);
    expect(rows.every((r) => r.devices > 0 && r.plans > 0)).toBe(true);
  });

  it('mixes device states: mostly active, some inactive, suspended, archived', async () => {
    const rows = await q<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM device GROUP BY status',
    );
    const by = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    expect(by.active! / DEVICES).toBeGreaterThan(0.75);
    for (const status of ['inactive', 'suspended', 'deactivated', 'test_ready', 'inventory']) {
      expect(by[status], status).toBeGreaterThan(0);
    }
    const [archived] = await q<{ n: number }>('SELECT count(*)::int AS n FROM device WHERE is_archived');
    expect(archived!.n).toBeGreaterThan(0);
  });

  it('owns some devices by customers of their own tenant, Rev customers with an active Rev service', async () => {
    const [owned] = await q<{ n: number; foreign: number; rev_without_service: number; services: number }>(`
      SELECT count(*)::int AS n,
             count(*) FILTER (WHERE c.tenant_id <> dt.tenant_id OR d.tenant_id <> dt.tenant_id)::int AS foreign,
             count(*) FILTER (WHERE c.kind = 'rev' AND rs.id IS NULL)::int AS rev_without_service,
             count(rs.id)::int AS services
      FROM device_tenant dt
      JOIN device d ON d.id = dt.device_id
      JOIN customer c ON c.id = dt.customer_id
      LEFT JOIN rev_service rs ON rs.device_id = dt.device_id AND rs.is_active AND rs.service_id = dt.rev_service_id`);
    expect(owned!.n).toBeGreaterThan(DEVICES * 0.1);
    expect(owned!.foreign).toBe(0);
    expect(owned!.rev_without_service).toBe(0);
    expect(owned!.services).toBeGreaterThan(0);
  });

  it('has Rev and AMOP customers, each with a default site, and one inactive customer per tenant', async () => {
    const rows = await q<{ kind: string; n: number; inactive: number; without_default: number }>(`
      SELECT kind, count(*)::int AS n, count(*) FILTER (WHERE NOT active)::int AS inactive,
             count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM site s WHERE s.customer_id = c.id AND s.is_default))::int
               AS without_default
      FROM customer c GROUP BY kind ORDER BY kind`);
    expect(rows.map((r) => r.kind)).toEqual(['amop', 'rev']);
    expect(rows.reduce((sum, r) => sum + r.n, 0)).toBe(50);
    expect(rows.reduce((sum, r) => sum + r.inactive, 0)).toBe(2);
    expect(rows.every((r) => r.without_default === 0)).toBe(true);
  });

  it('creates the demo users with their printed passwords; the operator reaches only some customers', async () => {
    const users = await q<{
      email: string;
      role: string;
      password_hash: string;
      all_customers: boolean;
      access: number;
    }>(`
      SELECT u.email, u.role, u.password_hash, u.all_customers,
             (SELECT count(*)::int FROM user_customer_access a WHERE a.user_id = u.id) AS access
      FROM app_user u ORDER BY u.id`);
    expect(users.map((u) => u.email)).toEqual(DEMO_LOGINS.map((l) => l.email));
    for (const login of DEMO_LOGINS) {
      const user = users.find((u) => u.email === login.email)!;
      expect(await verifyPassword(login.password, user.password_hash)).toBe(true);
      expect(await verifyPassword(`${login.password}x`, user.password_hash)).toBe(false);
      expect(user.all_customers).toBe(login.role !== 'operator');
      expect(user.access).toBe(login.role === 'operator' ? 8 : 0);
    }
  });

  it('is deterministic: a second seed produces the same identifiers', async () => {
    const first = await q<{ iccid: string }>('SELECT iccid FROM device ORDER BY id LIMIT 50');
    const other = await createTestDatabase(2);
    try {
      await seedDemoData(other.db, { devices: DEVICES });
      const { rows } = await other.pool.query('SELECT iccid FROM device ORDER BY id LIMIT 50');
      expect(rows).toEqual(first);
    } finally {
      await other.drop();
    }
  });

  it('refuses to seed over existing data unless asked to reset', async () => {
    await expect(seedDemoData(database.db, { devices: 10 })).rejects.toThrow(/already has data/);
    const [count] = await q<{ n: number }>('SELECT count(*)::int AS n FROM device');
    expect(count!.n).toBe(DEVICES);
  });
});
