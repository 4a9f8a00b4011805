import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';
import { postAssignment } from '../helpers/assignments.ts';

let database: TestDatabase;
let app: TestApp;
let fleet: Fleet;
let admin: { authorization: string };
let contosoAdmin: { authorization: string };
let operator: { authorization: string };

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 5000 });
  app = await buildTestAppWithServices(database);
  fleet = await loadFleet(database.pool);
  admin = await authHeaders(database.db, 'admin@northwind.example');
  contosoAdmin = await authHeaders(database.db, 'admin@contoso.example');
  operator = await authHeaders(database.db, 'operator@northwind.example');
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

const rowCount = async (table: string) =>
  (await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

function submit(body: Record<string, unknown>, headers: Record<string, string> = admin) {
  return postAssignment(app, headers, {
    serviceProviderId: fleet.thingspace,
    customerId: fleet.amopCustomer.id,
    ...body,
  });
}

describe('dryRun', () => {
  it('answers per-device eligibility and writes nothing', async () => {
    const devices = await freeDevices(database.pool, fleet.thingspace, 3);
    const before = [
      await rowCount('bulk_change'),
      await rowCount('bulk_change_device'),
      await rowCount('pgboss.job'),
    ];
    const res = await submit({ devices: [...devices, '123'], dryRun: true });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ dryRun: true, counts: { total: 4, eligible: 3, ineligible: 1 } });
    expect([
      await rowCount('bulk_change'),
      await rowCount('bulk_change_device'),
      await rowCount('pgboss.job'),
    ]).toEqual(before);
  });
});

describe('Idempotency-Key', () => {
  it('replays the first bulk change for the same key and body, and refuses another body', async () => {
    const devices = await freeDevices(database.pool, fleet.thingspace, 2);
    const headers = { ...admin, 'idempotency-key': 'order-4711' };
    const first = await submit({ devices }, headers);
    expect(first.statusCode).toBe(202);
    const changes = await rowCount('bulk_change');

    const again = await submit({ devices }, headers);
    expect(again.statusCode).toBe(202);
    expect(again.json<{ id: number }>().id).toBe(first.json<{ id: number }>().id);
    expect(await rowCount('bulk_change')).toBe(changes);

    const different = await submit({ devices: [devices[0]] }, headers);
    expect(different.statusCode).toBe(422);
    expect(different.json<{ error: { message: string } }>().error.message).toMatch(/different request/);
    expect(await rowCount('bulk_change')).toBe(changes);
  });

  it('two identical requests with one key at the same moment make one bulk change', async () => {
    const devices = await freeDevices(database.pool, fleet.thingspace, 2);
    const headers = { ...admin, 'idempotency-key': 'race-1' };
    const before = await rowCount('bulk_change');
    const [a, b] = await Promise.all([submit({ devices }, headers), submit({ devices }, headers)]);
    expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
    expect(a.json<{ id: number }>().id).toBe(b.json<{ id: number }>().id);
    expect(await rowCount('bulk_change')).toBe(before + 1);
  });
});

describe('reads', () => {
  let id: number;
  let devices: string[];

  beforeAll(async () => {
    devices = await freeDevices(database.pool, fleet.thingspace, 120);
    const res = await submit({ devices: [...devices, '8914801100000000000'] });
    id = res.json<{ id: number }>().id;
  });

  it('GET /bulk-changes/:id gives status, options, creator and counts', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/bulk-changes/${id}`, headers: admin });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id,
      changeType: 'customer_assignment',
      status: 'NEW',
      serviceProviderId: fleet.thingspace,
      customerId: fleet.amopCustomer.id,
      createdBy: { email: 'admin@northwind.example' },
      counts: { total: 121, pending: 120, error: 1, processed: 0 },
    });
  });

  it('pages per-device results with a cursor, and filters by status', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const url: string = `/api/v1/bulk-changes/${id}/devices?limit=50${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await app.inject({ method: 'GET', url, headers: admin })).json<{
        items: { identifier: string }[];
        nextCursor: string | null;
      }>();
      seen.push(...page.items.map((i) => i.identifier));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(121);
    expect(new Set(seen).size).toBe(121);

    const errors = await app.inject({
      method: 'GET',
      url: `/api/v1/bulk-changes/${id}/devices?status=ERROR`,
      headers: admin,
    });
    expect(errors.json<{ items: { status: string; errorCategory: string }[] }>().items).toEqual([
      expect.objectContaining({ status: 'ERROR', errorCategory: 'eligibility' }),
    ]);
  });

  it('exports one CSV row per device with Accept: text/csv', async () => {
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1/bulk-changes/${id}/devices`,
      headers: { ...admin, accept: 'text/csv' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/csv');
    const lines = res.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'deviceId,identifier,iccid,msisdn,status,errorCategory,message,revServiceId,processedAt',
    );
    expect(lines).toHaveLength(1 + 121);
    expect(new Set(lines.slice(1).map((l) => l.split(',')[1])).size).toBe(121);
  });

  it('lists the rejection in the change log, naming the device as submitted (it matched none)', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/bulk-changes/${id}/logs`, headers: admin });
    expect(res.json<{ items: unknown[] }>().items).toEqual([
      expect.objectContaining({
        identifier: '8914801100000000000',
        iccid: null,
        hasError: true,
        portalType: 'm2m',
        processedBy: 'simbind-api',
        submittedBy: 'admin@northwind.example',
      }),
    ]);
  });

  it('lists bulk changes newest first', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/bulk-changes?limit=2', headers: admin });
    const body = res.json<{ items: { id: number }[]; nextCursor: string | null }>();
    expect(body.items[0]!.id).toBe(id);
    expect(body.items[1]!.id).toBeLessThan(id);
    expect(body.nextCursor).not.toBeNull();
  });

  it('another tenant can neither read, list nor page it', async () => {
    for (const url of [
      `/api/v1/bulk-changes/${id}`,
      `/api/v1/bulk-changes/${id}/devices`,
      `/api/v1/bulk-changes/${id}/logs`,
    ]) {
      const res = await app.inject({ method: 'GET', url, headers: contosoAdmin });
      expect(res.statusCode, url).toBe(404);
    }
    const list = await app.inject({ method: 'GET', url: '/api/v1/bulk-changes', headers: contosoAdmin });
    expect(list.json<{ items: unknown[] }>().items).toEqual([]);
  });

  it('an operator does not see bulk changes of customers outside their list', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/bulk-changes/${id}`, headers: operator });
    const access = await database.pool.query(
      `SELECT 1 FROM user_customer_access a JOIN app_user u ON u.id = a.user_id WHERE u.email = $1 AND a.customer_id = $2`,
      ['operator@northwind.example', fleet.amopCustomer.id],
    );
    expect(res.statusCode).toBe(access.rowCount ? 200 : 404);
  });
});

describe('names of the Rev.io options', () => {
  it('names the service type and products from the customer’s cached catalogue; an unknown id has none', async () => {
    const res = await submit({
      devices: await freeDevices(database.pool, fleet.thingspace, 2),
      customerId: fleet.revCustomer.id,
      createRevService: true,
      revService: {
        serviceTypeId: 7,
        usagePlanGroupId: 5,
        products: [
          { productId: 11, rate: 4.5 },
          { productId: 12, rate: 1 },
          { productId: 13, rate: 2 },
        ],
      },
    });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json<{ id: number }>().id;
    // Cached after the submission (which nothing cached lets through): product 13 and the usage plan
    // group are not in it; product 12 was retired since, and keeps its name.
    const { rows } = await database.pool.query<{ credentials: number }>(
      'SELECT rev_credentials_id AS credentials FROM customer WHERE id = $1',
      [fleet.revCustomer.id],
    );
    const credentials = rows[0]!.credentials;
    await database.pool.query(
      `INSERT INTO catalogue_fetch (credentials_id, tenant_id, fetched_at, counts) VALUES ($1, $2, now(), '{}')`,
      [credentials, fleet.tenantId],
    );
    await database.pool.query(
      `INSERT INTO catalogue_entry (credentials_id, kind, remote_id, name, active, fetched_at) VALUES
         ($1, 'service_type', '7', 'IoT data', true, now()), ($1, 'product', '11', 'Data 1 GB', true, now()),
         ($1, 'product', '12', 'Static IP', false, now()), ($1, 'package', '11', 'Not asked for', true, now())`,
      [credentials],
    );
    const expected = {
      serviceType: 'IoT data',
      package: null,
      provider: null,
      usagePlanGroup: null,
      products: { '11': 'Data 1 GB', '12': 'Static IP' },
    };
    const one = await app.inject({ method: 'GET', url: `/api/v1/bulk-changes/${id}`, headers: admin });
    expect(one.json<{ revServiceNames: unknown }>().revServiceNames).toEqual(expected);
    const listed = await app.inject({
      method: 'GET',
      url: '/api/v1/bulk-changes?limit=1000',
      headers: admin,
    });
    const items = listed.json<{ items: { id: number; revServiceNames: unknown; options: object }[] }>().items;
    expect(items.find((b) => b.id === id)!.revServiceNames).toEqual(expected);
    // Ownership only: no Rev.io options, no names.
    const plain = items.filter((b) => !('revService' in b.options));
    expect(plain.length).toBeGreaterThan(0);
    expect(new Set(plain.map((b) => b.revServiceNames))).toEqual(new Set([null]));
    await database.pool.query('DELETE FROM catalogue_fetch WHERE credentials_id = $1', [credentials]);
  });
});

describe('list filters', () => {
  type Listed = {
    items: {
      id: number;
      customerId: number;
      serviceProviderId: number;
      source: string;
      createdBy: { id: number };
      createdAt: string;
    }[];
    nextCursor: string | null;
  };
  const list = async (query: string, headers: Record<string, string> = admin) =>
    app.inject({ method: 'GET', url: `/api/v1/bulk-changes?${query}`, headers });

  it('narrows by customer, provider, creator, source and creation time, combined with AND', async () => {
    const onJasper = await submit({
      serviceProviderId: fleet.jasper,
      devices: await freeDevices(database.pool, fleet.jasper, 1),
    });
    expect(onJasper.statusCode).toBe(202);
    const jasperId = onJasper.json<{ id: number }>().id;
    const all = (await list('limit=1000')).json<Listed>().items;
    expect(all.length).toBeGreaterThan(2);

    const byProvider = (await list(`serviceProviderId=${fleet.jasper}&limit=1000`)).json<Listed>().items;
    expect(byProvider.map((b) => b.id)).toEqual(
      all.filter((b) => b.serviceProviderId === fleet.jasper).map((b) => b.id),
    );
    expect(byProvider.map((b) => b.id)).toContain(jasperId);

    const byCustomer = (await list(`customerId=${fleet.amopCustomer.id}&limit=1000`)).json<Listed>().items;
    expect(byCustomer.length).toBeGreaterThan(0);
    expect(byCustomer.every((b) => b.customerId === fleet.amopCustomer.id)).toBe(true);
    expect(byCustomer.length).toBe(all.filter((b) => b.customerId === fleet.amopCustomer.id).length);

    const creator = all[0]!.createdBy.id;
    const byCreator = (await list(`createdBy=${creator}&source=api&limit=1000`)).json<Listed>().items;
    expect(byCreator.map((b) => b.id)).toEqual(
      all.filter((b) => b.createdBy.id === creator && b.source === 'api').map((b) => b.id),
    );
    expect(
      (await list('source=legacy&limit=1000')).json<Listed>().items.every((b) => b.source === 'legacy'),
    ).toBe(true);

    // Time window: from the Jasper change's creation on, only it and what came after.
    const at = all.find((b) => b.id === jasperId)!.createdAt;
    const since = (await list(`createdFrom=${encodeURIComponent(at)}&limit=1000`)).json<Listed>().items;
    expect(since.map((b) => b.id)).toEqual(all.filter((b) => b.createdAt >= at).map((b) => b.id));
    const before = (await list(`createdBefore=${encodeURIComponent(at)}&limit=1000`)).json<Listed>().items;
    expect(before.map((b) => b.id)).not.toContain(jasperId);
    expect(before.length + since.length).toBe(all.length);
  });

  it('narrows by change type: assignments, or undos; an unknown type is 400 naming /changeType', async () => {
    // An undo of the newest assignment, written as the undo service would leave it.
    const { rows } = await database.pool.query<{ id: number }>(
      `INSERT INTO bulk_change (tenant_id, change_type, undo_of, service_provider_id, portal_type, customer_id,
                                status, options, created_by, source)
       SELECT tenant_id, 'undo', id, service_provider_id, portal_type, customer_id, 'PROCESSED', '{}', created_by, 'ui'
       FROM bulk_change WHERE tenant_id = $1 AND change_type = 'customer_assignment' ORDER BY id DESC LIMIT 1
       RETURNING id`,
      [fleet.tenantId],
    );
    const undoId = rows[0]!.id;
    type Typed = { items: { id: number; changeType: string }[] };
    const all = (await list('limit=1000')).json<Typed>().items;
    const undos = (await list('changeType=undo&limit=1000')).json<Typed>().items;
    const assignments = (await list('changeType=customer_assignment&limit=1000')).json<Typed>().items;
    expect(undos.map((b) => b.id)).toEqual([undoId]);
    expect(assignments.map((b) => b.id)).toEqual(all.filter((b) => b.id !== undoId).map((b) => b.id));
    expect(assignments.length).toBeGreaterThan(1);
    const both = await list(`changeType=undo&source=api`);
    expect(both.json<Typed>().items).toEqual([]);

    const bad = await list('changeType=assignment');
    expect(bad.statusCode).toBe(400);
    const { details } = bad.json<{ error: { details: { path: string }[] } }>().error;
    expect(details.map((d) => d.path)).toContain('/changeType');
    await database.pool.query('DELETE FROM bulk_change WHERE id = $1', [undoId]);
  });

  it('pages a filtered list with its cursor, each page still filtered', async () => {
    const first = (await list(`customerId=${fleet.amopCustomer.id}&limit=1`)).json<Listed>();
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).not.toBeNull();
    const second = (
      await list(`customerId=${fleet.amopCustomer.id}&limit=1&cursor=${first.nextCursor}`)
    ).json<Listed>();
    expect(second.items).toHaveLength(1);
    expect(second.items[0]!.id).toBeLessThan(first.items[0]!.id);
    expect(second.items[0]!.customerId).toBe(fleet.amopCustomer.id);
  });

  it('refuses a malformed filter, and a customer outside what the caller may access', async () => {
    for (const query of ['createdFrom=yesterday', 'source=fax', 'customerId=abc', 'createdBy=0']) {
      const res = await list(query);
      expect(res.statusCode, query).toBe(400);
    }
    const contoso = await database.pool.query<{ id: number }>(
      "SELECT c.id FROM customer c JOIN tenant t ON t.id = c.tenant_id WHERE t.slug = 'contoso' LIMIT 1",
    );
    expect((await list(`customerId=${contoso.rows[0]!.id}`)).statusCode).toBe(404);
  });
});

describe('devices chosen by filter', () => {
  it('takes every device matching the GET /devices filter', async () => {
    const { rows } = await database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM device d WHERE d.service_provider_id = $1 AND d.status = 'inventory'`,
      [fleet.jasper],
    );
    const res = await submit({
      serviceProviderId: fleet.jasper,
      filter: { status: 'inventory' },
      dryRun: true,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ counts: { total: number; eligible: number } }>();
    expect(body.counts.total).toBe(rows[0]!.n);
    expect(body.counts.eligible).toBe(0); // inventory devices are not active
  });

  it("refuses a filter on another tenant's customer", async () => {
    const contosoCustomer = await database.pool.query<{ id: number }>(
      "SELECT c.id FROM customer c JOIN tenant t ON t.id = c.tenant_id WHERE t.slug = 'contoso' LIMIT 1",
    );
    const res = await submit({ filter: { customerId: contosoCustomer.rows[0]!.id }, dryRun: true });
    expect(res.statusCode).toBe(404);
  });
});

describe('the older entry points', () => {
  it('POST /M2M/AssociateCustomer takes the PascalCase body and answers { Success, ChangeId }', async () => {
    const devices = await freeDevices(database.pool, fleet.thingspace, 3);
    const res = await app.inject({
      method: 'POST',
      url: '/M2M/AssociateCustomer',
      headers: admin,
      payload: {
        Devices: devices,
        ServiceProviderId: String(fleet.thingspace),
        RevCustomerId: String(fleet.revCustomer.revCustomerId),
        CreateRevService: true,
        ServiceTypeId: 3,
        RevProductIdList: [11, 12],
        RateList: [4.5, '1.25'],
        Prorate: false,
        EffectiveDate: '2024-05-01Z',
        AddCustomerRatePlan: true,
        CustomerRatePlan: fleet.customerRatePlan,
      },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json<{ Success: boolean; ChangeId: number }>();
    expect(body.Success).toBe(true);
    expect(Number.isInteger(body.ChangeId)).toBe(true);
    const { rows } = await database.pool.query<{
      customer_id: number;
      source: string;
      options: Record<string, unknown>;
    }>('SELECT customer_id, source, options FROM bulk_change WHERE id = $1', [body.ChangeId]);
    expect(rows[0]).toMatchObject({ customer_id: fleet.revCustomer.id, source: 'legacy' });
    expect(rows[0]!.options).toMatchObject({
      effectiveDate: '2024-05-01',
      revService: {
        serviceTypeId: 3,
        products: [
          { productId: 11, rate: 4.5 },
          { productId: 12, rate: 1.25 },
        ],
      },
    });
  });

  it('answers { Success: false, Message } for an unknown Rev customer — matched exactly, not as a substring', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/M2M/AssociateCustomer',
      headers: admin,
      payload: {
        Devices: ['1'],
        ServiceProviderId: fleet.thingspace,
        RevCustomerId: String(fleet.revCustomer.revCustomerId).slice(0, 4),
      },
    });
    expect(res.statusCode).toBe(404);
    const body = res.json<{ Success: boolean; Message: string }>();
    expect(body.Success).toBe(false);
    expect(body.Message).toMatch(/No customer with Rev customer id/);
  });

  it('POST /M2M/AssociateAmopCustomer assigns to the site’s customer; GET is not answered', async () => {
    const devices = await freeDevices(database.pool, fleet.thingspace, 2);
    const res = await app.inject({
      method: 'POST',
      url: '/M2M/AssociateAmopCustomer',
      headers: admin,
      payload: {
        Devices: devices,
        ServiceProviderId: fleet.thingspace,
        SiteId: fleet.amopCustomer.defaultSiteId,
      },
    });
    expect(res.statusCode).toBe(200);
    const { ChangeId } = res.json<{ ChangeId: number }>();
    const { rows } = await database.pool.query('SELECT customer_id, site_id FROM bulk_change WHERE id = $1', [
      ChangeId,
    ]);
    expect(rows[0]).toEqual({
      customer_id: fleet.amopCustomer.id,
      site_id: fleet.amopCustomer.defaultSiteId,
    });

    const get = await app.inject({ method: 'GET', url: '/M2M/AssociateAmopCustomer', headers: admin });
    expect(get.statusCode).toBe(404);
  });

  it('refuses a viewer in the older shape', async () => {
    const viewer = await authHeaders(database.db, 'viewer@northwind.example');
    const res = await app.inject({
      method: 'POST',
      url: '/M2M/AssociateAmopCustomer',
      headers: viewer,
      payload: {
        Devices: ['1'],
        ServiceProviderId: fleet.thingspace,
        SiteId: fleet.amopCustomer.defaultSiteId,
      },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json<{ Success: boolean }>().Success).toBe(false);
  });
});
