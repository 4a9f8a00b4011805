import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { MESSAGES } from '../../src/services/assignment/eligibility.ts';
import { luhnCheckDigit } from '../../src/services/identifiers.ts';
import { buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, iccidsWhere, loadFleet, type Fleet } from '../helpers/fleet.ts';
import { postAssignment } from '../helpers/assignments.ts';

let database: TestDatabase;
let app: TestApp;
let fleet: Fleet;
let admin: { authorization: string };
let operator: { authorization: string };
let viewer: { authorization: string };
let otherTenantAdmin: { authorization: string };

beforeAll(async () => {
  database = await createTestDatabase();
  // 30,000 devices: northwind's ThingSpace M2M provider gets ~12,000, ~10,000 of them active.
  await seedDemoData(database.db, { devices: 30_000 });
  app = await buildTestAppWithServices(database);
  fleet = await loadFleet(database.pool);
  admin = await authHeaders(database.db, 'admin@northwind.example');
  operator = await authHeaders(database.db, 'operator@northwind.example');
  viewer = await authHeaders(database.db, 'viewer@northwind.example');
  otherTenantAdmin = await authHeaders(database.db, 'admin@contoso.example');
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

const count = async (sql: string, values: unknown[] = []) =>
  (await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, values)).rows[0]!.n;

const snapshot = async () => ({
  bulkChanges: await count('bulk_change'),
  workOrders: await count('bulk_change_device'),
  logs: await count('change_log'),
  jobs: await count('pgboss.job'),
});

function submit(body: Record<string, unknown>, headers: Record<string, string> = admin) {
  return postAssignment(app, headers, {
    serviceProviderId: fleet.thingspace,
    customerId: fleet.amopCustomer.id,
    ...body,
  });
}

describe('POST /api/v1/bulk-changes — a 10,000-device submission', () => {
  it('validates every device, commits work orders, logs and one job per chunk, and answers 202 with exact counts', async () => {
    const { rows } = await database.pool.query<{ iccid: string; eligible: boolean }>(
      `SELECT d.iccid,
              d.status = 'active' AND NOT d.is_archived
              AND NOT EXISTS (SELECT 1 FROM rev_service s WHERE s.device_id = d.id AND s.is_active
                              AND s.customer_id <> $2)
              -- owned by another customer: refused as \`owned\` (no reassign asked)
              AND NOT EXISTS (SELECT 1 FROM device_tenant dt WHERE dt.device_id = d.id AND dt.is_active
                              AND NOT dt.is_deleted AND dt.customer_id <> $2) AS eligible
       FROM device d WHERE d.service_provider_id = $1 ORDER BY d.id LIMIT 10000`,
      [fleet.thingspace, fleet.amopCustomer.id],
    );
    expect(rows).toHaveLength(10_000);
    const expectedEligible = rows.filter((r) => r.eligible).length;
    expect(expectedEligible).toBeGreaterThan(5000);
    expect(expectedEligible).toBeLessThan(10_000);

    const before = await snapshot();
    const res = await submit({ devices: rows.map((r) => r.iccid) });
    expect(res.statusCode).toBe(202);
    const body = res.json<{
      id: number;
      status: string;
      counts: Record<string, number>;
      links: { self: string };
    }>();
    expect(body.status).toBe('NEW');
    expect(body.counts).toMatchObject({
      total: 10_000,
      pending: expectedEligible,
      error: 10_000 - expectedEligible,
    });
    expect(body.links.self).toBe(`/api/v1/bulk-changes/${body.id}`);

    const after = await snapshot();
    expect(after.bulkChanges - before.bulkChanges).toBe(1);
    expect(after.workOrders - before.workOrders).toBe(10_000);
    // one change-log entry per rejected device
    expect(after.logs - before.logs).toBe(10_000 - expectedEligible);
    // Every step is local (the AMOP path): chunks of 25,000; CHUNK_SIZE (500) paces external calls.
    expect(
      await count(`pgboss.job WHERE name = 'bulk-change.process-chunk' AND data->>'bulkChangeId' = $1`, [
        String(body.id),
      ]),
    ).toBe(Math.ceil(expectedEligible / 25_000));

    const detail = await app.inject({ method: 'GET', url: body.links.self, headers: admin });
    expect(detail.json()).toMatchObject({ id: body.id, status: 'NEW', counts: body.counts });
  });
});

describe('device-level rules (each rejects only its device, with category and message)', () => {
  it('applies every rule and lets the eligible device through', async () => {
    const [free] = await freeDevices(database.pool, fleet.thingspace, 1);
    const [archived] = await iccidsWhere(database.pool, 'd.service_provider_id = $1 AND d.is_archived', [
      fleet.thingspace,
    ]);
    const [suspended] = await iccidsWhere(
      database.pool,
      "d.service_provider_id = $1 AND d.status = 'suspended' AND NOT d.is_archived",
      [fleet.thingspace],
    );
    const [ownedElsewhere] = await iccidsWhere(
      database.pool,
      `d.service_provider_id = $1 AND EXISTS (SELECT 1 FROM rev_service s WHERE s.device_id = d.id AND s.is_active AND s.customer_id <> $2)
       AND d.status = 'active' AND NOT d.is_archived`,
      [fleet.thingspace, fleet.revCustomer.id],
    );
    const [ownedBySame] = await iccidsWhere(
      database.pool,
      `d.service_provider_id = $1 AND EXISTS (SELECT 1 FROM rev_service s WHERE s.device_id = d.id AND s.is_active AND s.customer_id = $2)
       AND d.status = 'active' AND NOT d.is_archived`,
      [fleet.thingspace, fleet.revCustomer.id],
    );
    const [jasperDevice] = await freeDevices(database.pool, fleet.jasper, 1);
    const unknown = `891480999999999999${luhnCheckDigit('891480999999999999')}`; // valid, in no fleet
    const typo = `${free!.slice(0, -1)}${(Number(free!.at(-1)) + 1) % 10}`;

    const res = await submit({
      customerId: fleet.revCustomer.id,
      createRevService: true,
      revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 4.5 }] },
      dryRun: true,
      devices: [free, archived, suspended, ownedElsewhere, ownedBySame, jasperDevice, unknown, typo, 'abc'],
    });
    expect(res.statusCode).toBe(200);
    const verdicts = res.json<{
      devices: {
        identifier: string;
        eligible: boolean;
        errorCategory: string | null;
        message: string | null;
      }[];
    }>().devices;
    const by = Object.fromEntries(verdicts.map((v) => [v.identifier, v]));
    expect(by[free!]).toMatchObject({ eligible: true, errorCategory: null });
    expect(by[archived!]).toMatchObject({
      eligible: false,
      errorCategory: 'eligibility',
      message: MESSAGES.archived,
    });
    expect(by[suspended!]).toMatchObject({
      errorCategory: 'eligibility',
      message: MESSAGES.inactive('suspended'),
    });
    expect(by[ownedElsewhere!]).toMatchObject({
      errorCategory: 'eligibility',
      message: 'Active service line. Cannot change customers.',
    });
    expect(by[ownedBySame!]).toMatchObject({
      errorCategory: 'eligibility',
      message: 'Active service line. New service line not created.',
    });
    expect(by[jasperDevice!]).toMatchObject({ errorCategory: 'eligibility', message: MESSAGES.notFound });
    expect(by[unknown]).toMatchObject({ errorCategory: 'eligibility', message: MESSAGES.notFound });
    expect(by[typo]!.message).toMatch(/check digit/);
    expect(by.abc!.message).toMatch(/Not an ICCID/);
  });

  it('reports a device of a customer the operator cannot access as a permission error', async () => {
    const { rows } = await database.pool.query<{ iccid: string }>(
      `SELECT d.iccid FROM device d JOIN device_tenant dt ON dt.device_id = d.id
       JOIN customer c ON c.id = dt.customer_id
       WHERE d.service_provider_id = $1 AND c.kind = 'amop' AND d.status = 'active' AND NOT d.is_archived
         AND c.id NOT IN (SELECT customer_id FROM user_customer_access a JOIN app_user u ON u.id = a.user_id
                          WHERE u.email = 'operator@northwind.example')
       LIMIT 1`,
      [fleet.thingspace],
    );
    const target = await database.pool.query<{ customer_id: number }>(
      `SELECT a.customer_id FROM user_customer_access a JOIN app_user u ON u.id = a.user_id JOIN customer c ON c.id = a.customer_id
       WHERE u.email = 'operator@northwind.example' AND c.active ORDER BY 1 LIMIT 1`,
    );
    const res = await submit(
      { customerId: target.rows[0]!.customer_id, devices: [rows[0]!.iccid], dryRun: true },
      operator,
    );
    expect(res.statusCode).toBe(200);
    expect(res.json<{ devices: unknown[] }>().devices[0]).toMatchObject({
      eligible: false,
      errorCategory: 'permission',
      message: MESSAGES.ownerNotAccessible,
    });
  });

  it('folds duplicates into one work order and reports them', async () => {
    const [a, b] = await freeDevices(database.pool, fleet.thingspace, 2);
    const res = await submit({ devices: [a, ` ${b} `, a, `${a!.slice(0, 4)}-${a!.slice(4)}`], dryRun: true });
    expect(res.json()).toMatchObject({ counts: { total: 2, eligible: 2 }, duplicates: [a] });
  });

  it('a device in another open bulk change is a conflict naming that bulk change', async () => {
    const [device] = await freeDevices(database.pool, fleet.thingspace, 1);
    const first = await submit({ devices: [device] });
    expect(first.statusCode).toBe(202);
    const second = await submit({ devices: [device] });
    expect(second.statusCode).toBe(202);
    const rows = await app.inject({
      method: 'GET',
      url: `/api/v1/bulk-changes/${second.json<{ id: number }>().id}/devices`,
      headers: admin,
    });
    expect(rows.json<{ items: unknown[] }>().items[0]).toMatchObject({
      status: 'ERROR',
      errorCategory: 'eligibility',
      message: MESSAGES.conflict(first.json<{ id: number }>().id),
    });
  });

  it('gives the same device to exactly one of two bulk changes submitted at the same moment', async () => {
    const devices = await freeDevices(database.pool, fleet.thingspace, 200);
    const [a, b] = await Promise.all([submit({ devices }), submit({ devices: [...devices].reverse() })]);
    expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
    const ids = [a, b].map((r) => r.json<{ id: number }>().id);
    const { rows } = await database.pool.query<{ device_id: number; pending: number; conflicts: number }>(
      `SELECT device_id, count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
              count(*) FILTER (WHERE status = 'ERROR' AND message LIKE 'Conflict:%')::int AS conflicts
       FROM bulk_change_device WHERE bulk_change_id = ANY($1) GROUP BY device_id`,
      [ids],
    );
    expect(rows).toHaveLength(200);
    expect(rows.every((r) => r.pending === 1 && r.conflicts === 1)).toBe(true);
  });

  it('gives each device to one of two bulk changes that take them in opposite slices of their writes', async () => {
    // A submission writes its work orders a slice of 5,000 at a time while the next is judged, so
    // two submissions naming x and y in opposite slices can each hold one and wait for the other:
    // PostgreSQL aborts one, and it runs again from its validation, which then sees the other's.
    const [x, y] = await freeDevices(database.pool, fleet.thingspace, 2);
    const unknown = (prefix: string) =>
      Array.from({ length: 5_000 }, (_, i) => {
        const body = `8914809${prefix}${String(i).padStart(11, '0')}`;
        return `${body}${luhnCheckDigit(body)}`;
      });
    const [a, b] = await Promise.all([
      submit({ devices: [x!, ...unknown('1'), y!] }),
      submit({ devices: [y!, ...unknown('2'), x!] }),
    ]);
    expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
    const ids = [a, b].map((r) => r.json<{ id: number }>().id);
    const { rows } = await database.pool.query<{ iccid: string; pending: number; refused: number }>(
      `SELECT iccid, count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
              count(*) FILTER (WHERE status = 'ERROR' AND message LIKE 'Conflict:%')::int AS refused
       FROM bulk_change_device WHERE bulk_change_id = ANY($1) AND device_id IS NOT NULL GROUP BY iccid ORDER BY iccid`,
      [ids],
    );
    expect(rows).toEqual([x, y].sort().map((iccid) => ({ iccid, pending: 1, refused: 1 })));
    for (const res of [a, b]) {
      expect(res.json<{ counts: { total: number } }>().counts.total).toBe(5_002);
    }
  });
});

describe('request-level failures answer 4xx and write nothing', () => {
  const cases: [string, () => ReturnType<typeof submit>, number, RegExp][] = [
    ['viewer may not submit', () => submit({ devices: ['1'] }, viewer), 403, /viewer/],
    [
      "another tenant's provider and customer do not exist",
      () => submit({ devices: ['1'] }, otherTenantAdmin),
      404,
      /Service provider/,
    ],
    ['unknown customer', () => submit({ devices: ['1'], customerId: 987654 }), 404, /Customer 987654/],
    [
      'inactive customer',
      () => submit({ devices: ['1'], customerId: fleet.inactiveCustomer }),
      422,
      /inactive/,
    ],
    [
      'site of another customer',
      () => submit({ devices: ['1'], siteId: fleet.revCustomer.defaultSiteId }),
      422,
      /does not belong/,
    ],
    [
      'Rev service for an AMOP customer',
      () =>
        submit({ devices: ['1'], createRevService: true, revService: { serviceTypeId: 1, packageId: 2 } }),
      422,
      /not billed in Rev.io/,
    ],
    [
      'Rev service without products or package',
      () => submit({ devices: ['1'], createRevService: true, revService: { serviceTypeId: 1 } }),
      400,
      /products/,
    ],
    [
      'unknown customer rate plan',
      () => submit({ devices: ['1'], addCustomerRatePlan: true, customerRatePlan: { ratePlanId: 999999 } }),
      422,
      /999999/,
    ],
    [
      'unknown carrier plan',
      () => submit({ devices: ['1'], addCarrierRatePlan: true, carrierRatePlan: { ratePlan: 'NOPE' } }),
      422,
      /NOPE/,
    ],
    [
      'devices and filter together',
      () => submit({ devices: ['1'], filter: { status: 'active' } }),
      400,
      /either/,
    ],
    ['an unknown field', () => submit({ devices: ['1'], colour: 'red' }), 400, /invalid/],
    [
      'an impossible date',
      () => submit({ devices: ['1'], effectiveDate: '2026-02-30' }),
      400,
      /effectiveDate/,
    ],
    [
      'more than 100,000 devices',
      () => submit({ devices: Array.from({ length: 100_001 }, (_, i) => String(i)) }),
      413,
      /at most 100,000/,
    ],
    ['not signed in', () => submit({ devices: ['1'] }, {}), 401, /Sign in/],
  ];

  it.each(cases)('%s', async (_name, act, status, message) => {
    const before = await snapshot();
    const res = await act();
    expect(res.statusCode).toBe(status);
    expect(res.body).toMatch(message);
    expect(res.json<{ error: { code: string } }>().error.code).toBeTruthy();
    expect(await snapshot()).toEqual(before);
  });

  it('names every offending field by its exact JSON pointer', async () => {
    const before = await snapshot();
    const res = await postAssignment(app, admin, {
      customerId: fleet.amopCustomer.id,
      devices: ['1'],
      createRevService: true,
      revService: { serviceTypeId: 3, packageId: 'five' },
      colour: 'red',
    });
    expect(res.statusCode).toBe(400);
    const paths = res.json<{ error: { details: { path: string; in: string }[] } }>().error.details;
    expect(paths).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/serviceProviderId', in: 'body' }),
        expect.objectContaining({ path: '/revService/packageId', in: 'body' }),
        expect.objectContaining({ path: '/colour', in: 'body' }),
      ]),
    );
    expect(await snapshot()).toEqual(before);
  });

  it('an operator cannot assign to a customer outside their list: 404, as if it did not exist', async () => {
    const { rows } = await database.pool.query<{ id: number }>(
      `SELECT c.id FROM customer c WHERE c.tenant_id = $1 AND c.active AND c.id NOT IN
         (SELECT a.customer_id FROM user_customer_access a JOIN app_user u ON u.id = a.user_id
          WHERE u.email = 'operator@northwind.example') LIMIT 1`,
      [fleet.tenantId],
    );
    const devices = await freeDevices(database.pool, fleet.thingspace, 1);
    const before = await snapshot();
    const res = await submit({ devices, customerId: rows[0]!.id }, operator);
    // Security review, issue 18: a 403 naming the customer confirmed the id and disclosed the name.
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: { code: 'not_found', message: `Customer ${rows[0]!.id} not found.` },
    });
    expect(await snapshot()).toEqual(before);
  });
});
