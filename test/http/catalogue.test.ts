import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RecordedRequest } from '../../simulators/sim-control.ts';
import { loadConfig } from '../../src/config.ts';
import { DEMO_SECRETS } from '../../src/db/repositories/seed.repository.ts';
import { buildApp, type TypedApp } from '../../src/http/app.ts';
import { startQueue } from '../../src/jobs/queue.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildSimulator, type SimulatedSystem } from '../../src/simulator-host.ts';
import { createServices } from '../../src/wiring.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';

/**
 * Issue 11, item 3: the catalogues the assignment form needs are read from the accounts (through the
 * real clients, against the simulators on loopback) and cached: Rev.io's service types, products,
 * packages, providers and usage plan groups per account, the carriers' plans into carrier_rate_plan.
 * Read by anyone who may access the Rev customer; refreshed by administrators, when older than the
 * TTL, and after a first good test connection; a failed refresh leaves the cache as it was; and a
 * submission naming an id outside a cached catalogue is refused, naming the field.
 */

type Headers = Record<string, string>;
interface Catalogue {
  account: { id: number; name: string };
  fetchedAt: string;
  refreshError: string | null;
  serviceTypes: { id: number; name: string }[];
  products: { id: number; name: string; rate: number | null }[];
  packages: { id: number; name: string }[];
  providers: { id: number; name: string }[];
  usagePlanGroups: { id: number; name: string }[];
}

let database: TestDatabase;
let app: TypedApp;
let fleet: Fleet;
const sims = {} as Record<SimulatedSystem, FastifyInstance>;
const simUrls = {} as Record<SimulatedSystem, string>;
const as = {} as Record<'admin' | 'operator' | 'viewer' | 'contoso', Headers>;
const accounts = {} as { revio: number; thingspace: number; jasper: number; contosoRevio: number };
/** A Rev customer of northwind the demo operator may not access. */
let foreignRevCustomer: number;
let contosoRevCustomer: number;

const PREFIX: Record<SimulatedSystem, string> = { revio: '/v1', thingspace: '/api', jasper: '/rws/api/v1' };
const sql = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];
const id = async (text: string, values: unknown[] = []) => (await sql<{ id: number }>(text, values))[0]!.id;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 300 });
  for (const system of ['revio', 'thingspace', 'jasper'] as const) {
    sims[system] = buildSimulator(system);
    simUrls[system] = `${await sims[system].listen({ port: 0, host: '127.0.0.1' })}${PREFIX[system]}`;
  }
  const queue = await startQueue({ connectionString: database.url, pollSeconds: 1, supervise: false });
  const services = createServices({
    config: loadConfig({ LOG_LEVEL: 'silent', CATALOGUE_TTL_MINUTES: '30' }),
    database,
    queue,
    resolveBaseUrl: (url) =>
      url.startsWith('simulator://') ? simUrls[url.slice('simulator://'.length) as SimulatedSystem] : url,
  });
  app = await buildApp({ services, cookieSecret: 'test-cookie-secret-0123456789abcdef', logLevel: 'silent' });
  app.addHook('onClose', async () => queue.stop());
  fleet = await loadFleet(database.pool);
  for (const role of ['admin', 'operator', 'viewer'] as const) {
    as[role] = await authHeaders(database.db, `${role}@northwind.example`);
  }
  as.contoso = await authHeaders(database.db, 'admin@contoso.example');
  const account = (tenant: string, integration: string) =>
    id(
      `SELECT c.id FROM integration_credentials c JOIN tenant t ON t.id = c.tenant_id
       WHERE t.slug = $1 AND c.integration = $2`,
      [tenant, integration],
    );
  Object.assign(accounts, {
    revio: await account('northwind', 'revio'),
    thingspace: await account('northwind', 'thingspace'),
    jasper: await account('northwind', 'jasper'),
    contosoRevio: await account('contoso', 'revio'),
  });
  foreignRevCustomer = await id(
    `SELECT c.id FROM customer c WHERE c.tenant_id = $1 AND c.kind = 'rev' AND c.active
       AND c.id NOT IN (SELECT a.customer_id FROM user_customer_access a JOIN app_user u ON u.id = a.user_id
                        WHERE u.email = 'operator@northwind.example')
     ORDER BY c.id LIMIT 1`,
    [fleet.tenantId],
  );
  contosoRevCustomer = (await loadFleet(database.pool, 'contoso')).revCustomer.id;
}, 60_000);

afterAll(async () => {
  await app?.close();
  await Promise.all(Object.values(sims).map((sim) => sim.close()));
  await database?.drop();
});

beforeEach(async () => {
  for (const sim of Object.values(sims)) await sim.inject({ method: 'POST', url: '/__sim/reset' });
});

const get = (url: string, headers: Headers) => app.inject({ method: 'GET', url: `/api/v1${url}`, headers });
const post = (url: string, headers: Headers, payload?: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: `/api/v1${url}`, headers, ...(payload ? { payload } : {}) });
const simRequests = async (system: SimulatedSystem, path: string) =>
  (await sims[system].inject({ method: 'GET', url: `/__sim/requests?path=${path}` })).json<
    RecordedRequest[]
  >();
const catalogueOf = (customerId: number, headers = as.admin) =>
  get(`/customers/${customerId}/rev-catalogue`, headers);
const cacheRows = (credentialsId: number) =>
  sql(
    `SELECT kind, remote_id, name, active, rate, fetched_at FROM catalogue_entry WHERE credentials_id = $1
     ORDER BY kind, remote_id`,
    [credentialsId],
  );
const fetchedAt = async (credentialsId: number) =>
  (
    await sql<{ at: Date }>('SELECT fetched_at AS at FROM catalogue_fetch WHERE credentials_id = $1', [
      credentialsId,
    ])
  )[0]?.at;

describe('a Rev.io catalogue', () => {
  it('is read by an admin on demand: every list, counted per kind, cached per account', async () => {
    const res = await post(`/integrations/${accounts.revio}/catalogue/refresh`, as.admin);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      accountId: accounts.revio,
      integration: 'revio',
      counts: { serviceTypes: 4, products: 7, packages: 2, providers: 2, usagePlanGroups: 2 },
    });
    const paths = (await simRequests('revio', '/v1')).map((r) => r.path);
    expect(paths).toEqual([
      '/v1/ServiceTypes',
      '/v1/Products',
      '/v1/Packages',
      '/v1/Providers',
      '/v1/UsagePlanGroups',
    ]);
    const rows = await cacheRows(accounts.revio);
    expect(rows).toHaveLength(17);
    expect(rows).toContainEqual(
      expect.objectContaining({ kind: 'product', remote_id: '11', name: 'M2M line access', rate: '4.5000' }),
    );
    expect(rows).toContainEqual(
      expect.objectContaining({ kind: 'product', remote_id: '104', active: false }),
    );
  });

  it('is answered for a Rev customer: active entries, default rates, the account and when it was read', async () => {
    const res = await catalogueOf(fleet.revCustomer.id);
    expect(res.statusCode, res.body).toBe(200);
    const catalogue = res.json<Catalogue>();
    expect(catalogue.account).toEqual({ id: accounts.revio, name: 'Rev.io billing' });
    expect(catalogue.refreshError).toBeNull();
    expect(catalogue.serviceTypes.map((t) => t.id).sort()).toEqual([1, 2, 3]);
    expect(catalogue.products).toContainEqual({ id: 11, name: 'M2M line access', rate: 4.5 });
    expect(catalogue.products.map((p) => p.id)).not.toContain(104);
    expect(catalogue.packages).toContainEqual({ id: 77, name: 'Fleet telematics bundle' });
    expect(catalogue.providers).toContainEqual({ id: 1, name: 'Verizon Wireless' });
    expect(catalogue.usagePlanGroups).toHaveLength(2);
    for (const secret of Object.values(DEMO_SECRETS.revio)) expect(res.body).not.toContain(secret);
    // Fresh: served from the cache, Rev.io not asked.
    expect(await simRequests('revio', '/v1')).toEqual([]);
  });

  it('is read by whoever may access the customer, and by nobody else', async () => {
    expect((await catalogueOf(fleet.revCustomer.id, as.viewer)).statusCode).toBe(200);
    expect((await catalogueOf(fleet.revCustomer.id, as.operator)).statusCode).toBe(200);
    // A customer-limited operator: another customer of its tenant does not exist for it.
    const hidden = await catalogueOf(foreignRevCustomer, as.operator);
    expect(hidden.statusCode).toBe(404);
    expect(hidden.json<{ error: { message: string } }>().error.message).toBe(
      `Customer ${foreignRevCustomer} not found.`,
    );
    expect((await catalogueOf(foreignRevCustomer, as.admin)).statusCode).toBe(200);
    // Another tenant's customer answers exactly like one that does not exist.
    const foreign = await catalogueOf(fleet.revCustomer.id, as.contoso);
    const missing = await catalogueOf(Number.MAX_SAFE_INTEGER, as.contoso);
    expect(foreign.statusCode).toBe(404);
    expect(foreign.body.replace(String(fleet.revCustomer.id), ':id')).toBe(
      missing.body.replace(String(Number.MAX_SAFE_INTEGER), ':id'),
    );
  });

  it('is refused, clearly, for an AMOP customer (no Rev.io account)', async () => {
    const res = await catalogueOf(fleet.amopCustomer.id);
    expect(res.statusCode).toBe(422);
    expect(res.json<{ error: { message: string } }>().error.message).toMatch(/is not billed in Rev\.io/);
  });

  it('is refreshed by administrators only', async () => {
    for (const role of ['operator', 'viewer'] as const) {
      expect((await post(`/integrations/${accounts.revio}/catalogue/refresh`, as[role])).statusCode).toBe(
        403,
      );
    }
    const foreign = await post(`/integrations/${accounts.revio}/catalogue/refresh`, as.contoso);
    expect(foreign.statusCode).toBe(404);
    expect(await simRequests('revio', '/v1')).toEqual([]);
  });

  it('is read from the account again once older than the TTL', async () => {
    const before = (await fetchedAt(accounts.revio))!;
    await sql(
      `UPDATE catalogue_fetch SET fetched_at = now() - interval '31 minutes' WHERE credentials_id = $1`,
      [accounts.revio],
    );
    const res = await catalogueOf(fleet.revCustomer.id);
    expect(res.statusCode, res.body).toBe(200);
    expect((await simRequests('revio', '/v1/Products')).length).toBe(1);
    const after = (await fetchedAt(accounts.revio))!;
    expect(after.getTime()).toBeGreaterThan(before.getTime());
    expect(new Date(res.json<Catalogue>().fetchedAt).getTime()).toBe(after.getTime());
  });

  it('keeps the cache as it was when a refresh fails, and says which system failed (502)', async () => {
    const rows = await cacheRows(accounts.revio);
    const at = await fetchedAt(accounts.revio);
    await sims.revio.inject({
      method: 'POST',
      url: '/__sim/faults',
      payload: { path: '/v1/Packages', status: 503 },
    });
    const res = await post(`/integrations/${accounts.revio}/catalogue/refresh`, as.admin);
    expect(res.statusCode).toBe(502);
    const error = res.json<{ error: { code: string; message: string } }>().error;
    expect(error.code).toBe('upstream_failed');
    expect(error.message).toMatch(/^Rev\.io account "Rev\.io billing" could not be read: .*503/);
    for (const secret of Object.values(DEMO_SECRETS.revio)) expect(res.body).not.toContain(secret);
    expect(await cacheRows(accounts.revio)).toEqual(rows);
    expect(await fetchedAt(accounts.revio)).toEqual(at);

    // A stale catalogue whose refresh fails is still answered, saying so.
    await sql(
      `UPDATE catalogue_fetch SET fetched_at = now() - interval '2 hours' WHERE credentials_id = $1`,
      [accounts.revio],
    );
    const stale = await catalogueOf(fleet.revCustomer.id);
    expect(stale.statusCode).toBe(200);
    expect(stale.json<Catalogue>().refreshError).toMatch(/could not be read/);
    expect(stale.json<Catalogue>().products.length).toBeGreaterThan(0);
    expect(await cacheRows(accounts.revio)).toEqual(rows);

    // Nothing cached and Rev.io failing: nothing to answer with.
    const none = await catalogueOf(contosoRevCustomer, as.contoso);
    expect(none.statusCode).toBe(502);
    expect(await fetchedAt(accounts.contosoRevio)).toBeUndefined();
  });
});

describe('a submission against a cached Rev.io catalogue', () => {
  const submit = async (
    revService: Record<string, unknown>,
    customerId = fleet.revCustomer.id,
    headers = as.admin,
  ) =>
    post('/bulk-changes', headers, {
      changeType: 'customer_assignment',
      serviceProviderId: fleet.thingspace,
      customerId,
      devices: await freeDevices(database.pool, fleet.thingspace, 2),
      createRevService: true,
      revService,
      addCarrierRatePlan: false,
      addCustomerRatePlan: false,
    });
  const bulkChanges = async () =>
    (await sql<{ n: number }>('SELECT count(*)::int AS n FROM bulk_change'))[0]!.n;

  beforeAll(async () => {
    await sims.revio.inject({ method: 'POST', url: '/__sim/reset' });
    expect((await post(`/integrations/${accounts.revio}/catalogue/refresh`, as.admin)).statusCode).toBe(200);
  });

  it('refuses an id outside the catalogue with 422 naming the field, and writes nothing', async () => {
    const before = await bulkChanges();
    const res = await submit({
      serviceTypeId: 3,
      products: [
        { productId: 11, rate: 4.5 },
        { productId: 99, rate: 1 },
      ],
    });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json<{ error: { details: unknown[] } }>().error.details).toEqual([
      {
        path: '/revService/products/1/productId',
        message: "product 99 is not in Rev.io account Rev.io billing's catalogue",
      },
    ]);
    const others = await submit({
      serviceTypeId: 9,
      packageId: 6,
      providerId: 3,
      usagePlanGroupId: 4,
      products: undefined,
    });
    expect(others.statusCode).toBe(422);
    expect(
      others.json<{ error: { details: { path: string }[] } }>().error.details.map((d) => d.path),
    ).toEqual([
      '/revService/serviceTypeId',
      '/revService/packageId',
      '/revService/providerId',
      '/revService/usagePlanGroupId',
    ]);
    const inactive = await submit({ serviceTypeId: 4, products: [{ productId: 104, rate: 2 }] });
    expect(
      inactive.json<{ error: { details: { message: string }[] } }>().error.details.map((d) => d.message),
    ).toEqual([
      "service type 4 is inactive in Rev.io account Rev.io billing's catalogue",
      "product 104 is inactive in Rev.io account Rev.io billing's catalogue",
    ]);
    expect(await bulkChanges()).toBe(before);
  });

  it('accepts ids of the catalogue, without calling Rev.io', async () => {
    const res = await submit({ serviceTypeId: 3, packageId: 77, providerId: 1, usagePlanGroupId: 2 });
    expect(res.statusCode, res.body).toBe(202);
    expect(await simRequests('revio', '/v1')).toEqual([]);
  });

  it('is not checked when no catalogue is cached (as before)', async () => {
    const contoso = await loadFleet(database.pool, 'contoso');
    expect(await fetchedAt(accounts.contosoRevio)).toBeUndefined();
    const res = await post('/bulk-changes', as.contoso, {
      changeType: 'customer_assignment',
      serviceProviderId: contoso.thingspace,
      customerId: contoso.revCustomer.id,
      devices: await freeDevices(database.pool, contoso.thingspace, 1),
      createRevService: true,
      revService: { serviceTypeId: 3, products: [{ productId: 99, rate: 1 }] },
      addCarrierRatePlan: false,
      addCustomerRatePlan: false,
      dryRun: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(await simRequests('revio', '/v1')).toEqual([]);
  });
});

describe('carrier catalogues', () => {
  it("Jasper: rate plans into its providers' carrier plans, communication plans cached; unlisted plans go inactive", async () => {
    await sql(
      `INSERT INTO carrier_rate_plan (tenant_id, service_provider_id, code, name) VALUES ($1, $2, 'IOT-RETIRED', 'Retired')`,
      [fleet.tenantId, fleet.jasper],
    );
    const res = await post(`/integrations/${accounts.jasper}/catalogue/refresh`, as.admin);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      integration: 'jasper',
      counts: {
        ratePlans: 4,
        communicationPlans: 2,
        serviceProviders: 1,
        plansAdded: 0,
        plansDeactivated: 1,
      },
    });
    const plans = await sql<{ code: string; name: string; active: boolean; listed: boolean }>(
      `SELECT code, name, active, listed_at IS NOT NULL AS listed FROM carrier_rate_plan
       WHERE service_provider_id = $1 ORDER BY code`,
      [fleet.jasper],
    );
    expect(plans).toContainEqual({ code: 'IOT-RETIRED', name: 'Retired', active: false, listed: false });
    expect(plans).toContainEqual({ code: 'IOT-1GB', name: 'IoT 1 GB', active: true, listed: true });
    const listed = await get(`/rate-plans?kind=carrier&serviceProviderId=${fleet.jasper}`, as.viewer);
    expect(listed.json<{ items: { code: string }[] }>().items.map((p) => p.code)).not.toContain(
      'IOT-RETIRED',
    );
    expect(await cacheRows(accounts.jasper)).toEqual([
      expect.objectContaining({ kind: 'communication_plan', remote_id: 'CP-Data-SMS' }),
      expect.objectContaining({ kind: 'communication_plan', remote_id: 'CP-Standard-Data' }),
    ]);
  });

  it('ThingSpace: the service plan list into every provider on the account, new plans added', async () => {
    await sql(`DELETE FROM carrier_rate_plan WHERE service_provider_id = $1 AND code = 'M2M-UNL'`, [
      fleet.mobility,
    ]);
    const res = await post(`/integrations/${accounts.thingspace}/catalogue/refresh`, as.admin);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ counts: { ratePlans: 4, serviceProviders: 2, plansAdded: 1 } });
    expect(
      await sql(`SELECT name FROM carrier_rate_plan WHERE service_provider_id = $1 AND code = 'M2M-UNL'`, [
        fleet.mobility,
      ]),
    ).toEqual([{ name: 'M2M unlimited' }]);
    const calls = await simRequests('thingspace', '/api/m2m/v1/plans');
    expect(calls.map((c) => c.path)).toEqual(['/api/m2m/v1/plans/0000123456-00001']);
  });
});

describe('test connection', () => {
  it("reads a Rev.io account's catalogue after its first good test, and not again", async () => {
    expect(await fetchedAt(accounts.contosoRevio)).toBeUndefined();
    const res = await post(`/integrations/${accounts.contosoRevio}/test`, as.contoso);
    expect(res.json()).toMatchObject({ ok: true });
    const first = await fetchedAt(accounts.contosoRevio);
    expect(first).toBeInstanceOf(Date);
    expect((await catalogueOf(contosoRevCustomer, as.contoso)).json<Catalogue>().products.length).toBe(6);
    await post(`/integrations/${accounts.contosoRevio}/test`, as.contoso);
    expect(await fetchedAt(accounts.contosoRevio)).toEqual(first);
  });
});
