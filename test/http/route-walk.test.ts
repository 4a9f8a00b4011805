import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRevioSimulator } from '../../simulators/revio.simulator.ts';
import { buildApp, type TypedApp } from '../../src/http/app.ts';
import { webRoutes } from '../../src/http/routes/web.routes.ts';
import { WEB_DIR } from '../../src/paths.ts';
import { generateApiToken } from '../../src/services/api-tokens.ts';
import { luhnCheckDigit } from '../../src/services/identifiers.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';

/**
 * Issue 10 item 2, "who may do what", proved over Fastify's own route table rather than a list kept
 * by hand: every route of the app as `simbind serve` builds it (UI included) is either on the public
 * list below, with the reason it may be, or in RULES, which says which role may call it and whether
 * an operator limited to some customers is limited there. A route in neither fails the first test.
 * Then: every guarded route answers 401 to no, garbage and forged credentials; every route naming an
 * object by `:id` answers another tenant 404, with the body of an id that does not exist; each role
 * gets what RULES says; and the README's table is RULES.
 */

type Headers = Record<string, string>;
type Role = 'admin' | 'operator' | 'viewer';
const ROLES: Role[] = ['admin', 'operator', 'viewer'];
interface Route {
  method: string;
  url: string;
}

let database: TestDatabase;
let base: TestApp;
/** The app as `simbind serve` builds it: the API, the docs and the UI. */
let app: TypedApp;
let routes: Route[];
let fleet: Fleet;
/** northwind's Rev.io account reads its catalogue here (the demo's `simulator://` is not running). */
const revioSim = buildRevioSimulator();
const tokens = {} as Record<Role | 'contoso', Headers>;
const sessions = {} as Record<Role, Headers>;
/** The customers operator@northwind.example may access, and two of the tenant it may not. */
let allowed: number[];
let foreign: { amop: { id: number; site: number }; rev: { id: number; revCustomerId: number } };
/** northwind objects, each named by its id on some route. */
const nw = {} as {
  bulkChange: number;
  /** Finished (cancelled): its event stream answers at once and ends. */
  finishedBulkChange: number;
  foreignFinishedBulkChange: number;
  foreignBulkChange: number;
  device: number;
  foreignDevice: number;
  customer: number;
  token: number;
  user: number;
  integration: number;
  webhook: number;
  syncRun: number;
};

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const MISSING = Number.MAX_SAFE_INTEGER;
const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin' };
const sql = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 2000 });
  // METRICS_TOKEN set: /metrics is then the scraper's, behind its own token (as in production).
  base = await buildTestAppWithServices(database, { METRICS_TOKEN, SECRETS_KEY: `${'A'.repeat(43)}=` });
  app = await buildApp({
    services: base.services,
    cookieSecret: 'test-cookie-secret-0123456789abcdef',
    logLevel: 'silent',
    extraRoutes: [webRoutes],
  });
  await app.ready();
  routes = routeTable(app);
  const indexHtml = readFileSync(path.join(WEB_DIR, 'index.html'), 'utf8');
  for (const r of routes.filter((x) => x.method === 'GET' && !x.url.startsWith('/api/'))) {
    const res = await app.inject({ method: 'GET', url: concrete(r.url) });
    if (res.statusCode === 200 && res.body === indexHtml) uiPages.add(keyOf(r));
  }
  fleet = await loadFleet(database.pool);
  const revioUrl = `${await revioSim.listen({ port: 0, host: '127.0.0.1' })}/v1`;
  await sql(
    `UPDATE integration_credentials SET base_url = $1 WHERE tenant_id = $2 AND integration = 'revio'`,
    [revioUrl, fleet.tenantId],
  );

  for (const role of ROLES) {
    tokens[role] = await authHeaders(database.db, `${role}@northwind.example`);
    sessions[role] = await signIn(`${role}@northwind.example`, `${role}-demo`);
  }
  tokens.contoso = await authHeaders(database.db, 'admin@contoso.example');

  allowed = (
    await sql<{ customer_id: number }>(
      `SELECT a.customer_id FROM user_customer_access a JOIN app_user u ON u.id = a.user_id
       WHERE u.email = 'operator@northwind.example' ORDER BY 1`,
    )
  ).map((r) => r.customer_id);
  // The fixtures the probes use must be the operator's own, or RULES would prove nothing.
  expect(allowed).toEqual(expect.arrayContaining([fleet.amopCustomer.id, fleet.revCustomer.id]));
  const outside = (kind: string) =>
    sql<{ id: number; site: number; rev: number }>(
      `SELECT c.id, s.id AS site, c.rev_customer_id AS rev FROM customer c
       JOIN site s ON s.customer_id = c.id AND s.is_default
       WHERE c.tenant_id = $1 AND c.kind = $2 AND c.active AND NOT c.id = ANY($3::bigint[]) ORDER BY c.id LIMIT 1`,
      [fleet.tenantId, kind, allowed],
    ).then((rows) => rows[0]!);
  const amop = await outside('amop');
  const rev = await outside('rev');
  foreign = { amop: { id: amop.id, site: amop.site }, rev: { id: rev.id, revCustomerId: rev.rev } };

  const one = async (text: string, values: unknown[] = []) =>
    (await sql<{ id: number }>(text, values))[0]!.id;
  Object.assign(nw, {
    bulkChange: await openBulkChange(fleet.amopCustomer.id),
    foreignBulkChange: await openBulkChange(foreign.amop.id),
    finishedBulkChange: await one(
      `UPDATE bulk_change SET status = 'CANCELLED', completed_at = now() WHERE id = $1 RETURNING id`,
      [await openBulkChange(fleet.amopCustomer.id)],
    ),
    foreignFinishedBulkChange: await one(
      `UPDATE bulk_change SET status = 'CANCELLED', completed_at = now() WHERE id = $1 RETURNING id`,
      [await openBulkChange(foreign.amop.id)],
    ),
    device: await one(
      `SELECT d.id FROM device d WHERE d.tenant_id = $1
       AND NOT EXISTS (SELECT 1 FROM device_tenant dt WHERE dt.device_id = d.id) ORDER BY d.id LIMIT 1`,
      [fleet.tenantId],
    ),
    foreignDevice: await one(
      `SELECT d.id FROM device d JOIN device_tenant dt ON dt.device_id = d.id AND dt.is_active AND NOT dt.is_deleted
       WHERE d.tenant_id = $1 AND NOT dt.customer_id = ANY($2::bigint[]) ORDER BY d.id LIMIT 1`,
      [fleet.tenantId, allowed],
    ),
    customer: fleet.amopCustomer.id,
    token: await one(
      `SELECT t.id FROM api_token t JOIN app_user u ON u.id = t.user_id
       WHERE u.email = 'admin@northwind.example' ORDER BY t.id LIMIT 1`,
    ),
    user: await one(`SELECT id FROM app_user WHERE email = 'operator@northwind.example'`),
    integration: await one(
      `SELECT id FROM integration_credentials WHERE tenant_id = $1 AND integration = 'jasper'`,
      [fleet.tenantId],
    ),
    webhook: await newWebhook(),
    // A finished run of northwind's: nothing is queued, no partner is called.
    syncRun: await one(
      `INSERT INTO sync_run (tenant_id, kind, credentials_id, mode, status, deadline_at, finished_at)
       SELECT $1, 'customers', id, 'full', 'SUCCEEDED', now(), now() FROM integration_credentials
       WHERE tenant_id = $1 AND integration = 'revio' ORDER BY id LIMIT 1 RETURNING id`,
      [fleet.tenantId],
    ),
  });
});
afterAll(async () => {
  await app?.close();
  await base?.close();
  await revioSim.close();
  await database?.drop();
});

async function signIn(email: string, password: string): Promise<Headers> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
  const cookie = res.cookies.find((c) => c.name === 'simbind_session');
  if (!cookie) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  return { cookie: `simbind_session=${cookie.value}`, ...SAME_ORIGIN };
}

/**
 * Every route (method + URL pattern) in Fastify's router, from `printRoutes`' radix tree: each line is
 * a node (4 characters of indent per level) whose prefix continues its parent's, with the methods of
 * the routes that end there. (`commonPrefix: false` is not used: find-my-way drops the path before a
 * wildcard there.) A line that is not a node fails, so no route can hide in an unexpected shape.
 */
function routeTable(target: TypedApp): Route[] {
  const found: Route[] = [];
  const stack: string[] = [];
  for (const line of target.printRoutes().split('\n')) {
    if (line.trim() === '') continue;
    const match = /^((?:│ {3}| {4})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) throw new Error(`printRoutes line not understood: ${line}`);
    stack.length = match[1]!.length / 4;
    stack.push(match[2]!);
    for (const method of match[3]?.split(', ') ?? []) found.push({ method, url: stack.join('') });
  }
  return found;
}

const keyOf = (r: Route) => `${r.method} ${r.url}`;
const concrete = (url: string) => url.replace(/:id\b/g, '1').replace(/:token\b/, 'x'.repeat(43));

const revioAccount = async () =>
  (
    await sql<{ id: number }>(
      `SELECT id FROM integration_credentials WHERE tenant_id = $1 AND integration = 'revio' ORDER BY id LIMIT 1`,
      [fleet.tenantId],
    )
  )[0]!.id;

/** A bulk change of northwind's admin whose devices are all still pending (no worker runs here). */
async function openBulkChange(customerId: number): Promise<number> {
  const res = await postAssignment(app, tokens.admin, {
    serviceProviderId: fleet.thingspace,
    customerId,
    devices: await freeDevices(database.pool, fleet.thingspace, 1),
    createRevService: false,
    addCarrierRatePlan: false,
    addCustomerRatePlan: false,
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ id: number }>().id;
}

/** Free devices of a provider, by the identifier its portal uses. */
async function freeIdentifiers(providerId: number, column: 'iccid' | 'msisdn'): Promise<string[]> {
  if (column === 'iccid') return freeDevices(database.pool, providerId, 1);
  const rows = await sql<{ msisdn: string }>(
    `SELECT d.msisdn FROM device d WHERE d.service_provider_id = $1 AND d.status = 'active'
       AND NOT d.is_archived AND d.msisdn IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM device_tenant dt WHERE dt.device_id = d.id)
       AND NOT EXISTS (SELECT 1 FROM bulk_change_device w WHERE w.device_id = d.id)
     ORDER BY d.id LIMIT 1`,
    [providerId],
  );
  return rows.map((r) => r.msisdn);
}

// ---------------------------------------------------------------------------------------------
// The public routes: each needs no caller, for the reason given.

const PUBLIC: Record<string, { why: string; status?: number }> = {
  'GET /healthz': { why: 'liveness probe of the platform: `{ status: "ok" }`, no data', status: 200 },
  'GET /readyz': { why: 'readiness probe: database reachable and migrations current, no data', status: 200 },
  'POST /api/v1/auth/login': { why: 'sign-in itself (rate-limited, CSRF-checked)', status: 200 },
  'POST /api/v1/auth/logout': {
    why: 'ends only the session of the cookie it carries; without one it does nothing',
    status: 204,
  },
  'GET /api/v1/setup': {
    why: 'the first-run screen asks whether a tenant exists yet: `{ needed }`, nothing else',
    status: 200,
  },
  // Here the body `{}` is refused (400) before anything is looked at; tested in setup.test.ts.
  'POST /api/v1/setup': {
    why: 'first-run setup, before anyone can sign in: needs the setup code printed on the terminal, counted like sign-ins, 409 once a tenant exists',
    status: 400,
  },
  'POST /api/v1/carrier-callbacks/thingspace/:token': {
    why: 'called by ThingSpace, which holds no session: the secret path token is the credential (unknown: 404)',
    status: 404,
  },
  // The API description: the same for everyone, no data (every documented route is guarded below).
  'GET /docs': { why: 'API documentation (redirect to the UI)' },
  'GET /docs/': { why: 'API documentation (Swagger UI page)' },
  'GET /docs/json': { why: 'the OpenAPI document' },
  'GET /docs/yaml': { why: 'the OpenAPI document' },
  'GET /docs/static/index.html': { why: 'Swagger UI page' },
  'GET /docs/static/swagger-initializer.js': { why: 'Swagger UI script' },
  'GET /docs/static/*': { why: "Swagger UI's own static files" },
};

/**
 * The UI's pages: client-side routes that answer web/index.html as it is, to anyone, so links can be
 * shared; their data comes from /api/v1, guarded below. Found by what they answer (beforeAll), so a
 * new screen needs no entry here, and a route that answers anything else is not one.
 */
const uiPages = new Set<string>();

/** The UI's own files (web/): code and styles, no data; each is a route of @fastify/static. */
const isUiFile = (r: Route) =>
  r.method === 'GET' && statSync(path.join(WEB_DIR, r.url), { throwIfNoEntry: false })?.isFile() === true;
/** HEAD is answered by the GET route of the same URL (Fastify's exposeHeadRoutes). */
const getOf = (r: Route): Route => (r.method === 'HEAD' ? { method: 'GET', url: r.url } : r);
const isPublic = (r: Route) =>
  keyOf(getOf(r)) in PUBLIC || isUiFile(getOf(r)) || uiPages.has(keyOf(getOf(r)));

// ---------------------------------------------------------------------------------------------
// RULES: who may call each guarded route. `probe` is a request only the caller's role decides
// (valid, naming the caller's own objects), `allowed` its answer when the role may; any other role
// gets `denied` (403). `limited`: the same route naming another customer's object, which an operator
// limited to some customers must not see or act on (404, as for an id that does not exist).

interface Limited {
  request: () => Promise<InjectOptions> | InjectOptions;
  /** Whether the answer shows, or acted on, the other customer's object (default: not a 404). */
  seen?: (res: LightMyRequestResponse) => boolean;
}
interface Rule {
  who: readonly Role[];
  probe: (h: Headers, role: Role) => Promise<InjectOptions> | InjectOptions;
  allowed: number;
  denied?: number;
  limited?: Limited;
  /** What the README says where the table's cells cannot. */
  note?: string;
}

const ALL: Role[] = ['admin', 'operator', 'viewer'];
const CHANGERS: Role[] = ['admin', 'operator'];
const ADMIN: Role[] = ['admin'];
let serial = 0;
const unique = (label: string) => `${label}-${process.pid}-${++serial}`;
const get = (url: string) => (h: Headers) => ({ method: 'GET' as const, url, headers: h });
const itemIds = (res: LightMyRequestResponse) =>
  res.json<{ items: { id: number }[] }>().items.map((i) => i.id);

function legacy(portal: 'M2M' | 'Mobility', endpoint: 'AssociateCustomer' | 'AssociateAmopCustomer'): Rule {
  const provider = () => (portal === 'M2M' ? fleet.thingspace : fleet.mobility);
  const body = async (customer: { revCustomerId: number } | { site: number }) => ({
    Devices: await freeIdentifiers(provider(), portal === 'M2M' ? 'iccid' : 'msisdn'),
    ServiceProviderId: provider(),
    ...('site' in customer ? { SiteId: customer.site } : { RevCustomerId: customer.revCustomerId }),
  });
  const own = () =>
    endpoint === 'AssociateCustomer'
      ? { revCustomerId: fleet.revCustomer.revCustomerId }
      : { site: fleet.amopCustomer.defaultSiteId };
  const other = () =>
    endpoint === 'AssociateCustomer'
      ? { revCustomerId: foreign.rev.revCustomerId }
      : { site: foreign.amop.site };
  const url = `/${portal}/${endpoint}`;
  return {
    who: CHANGERS,
    probe: async (h) => ({ method: 'POST', url, headers: h, payload: await body(own()) }),
    allowed: 200,
    limited: { request: async () => ({ method: 'POST', url, payload: await body(other()) }) },
  };
}

const RULES: Record<string, Rule> = {
  'GET /metrics': {
    who: [],
    probe: get('/metrics'),
    allowed: 200,
    denied: 401,
    note: 'METRICS_TOKEN only (the scraper), no user credential',
  },
  'POST /M2M/AssociateCustomer': legacy('M2M', 'AssociateCustomer'),
  'POST /M2M/AssociateAmopCustomer': legacy('M2M', 'AssociateAmopCustomer'),
  'POST /Mobility/AssociateCustomer': legacy('Mobility', 'AssociateCustomer'),
  'POST /Mobility/AssociateAmopCustomer': legacy('Mobility', 'AssociateAmopCustomer'),
  'GET /api/v1/auth/me': { who: ALL, probe: get('/api/v1/auth/me'), allowed: 200 },
  'POST /api/v1/auth/tokens': {
    who: ALL,
    // From a signed-in session: a token cannot create tokens (403 for every role).
    probe: (_h, role) => ({
      method: 'POST',
      url: '/api/v1/auth/tokens',
      headers: sessions[role],
      payload: { name: unique('walk') },
    }),
    allowed: 201,
    note: 'from a signed-in session only',
  },
  'GET /api/v1/auth/tokens': {
    who: ALL,
    probe: get('/api/v1/auth/tokens'),
    allowed: 200,
    note: 'own tokens',
  },
  'DELETE /api/v1/auth/tokens/:id': {
    who: ALL,
    probe: async (h, role) => {
      const created = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/tokens',
        headers: sessions[role],
        payload: { name: unique('revoked') },
      });
      return {
        method: 'DELETE',
        url: `/api/v1/auth/tokens/${created.json<{ id: number }>().id}`,
        headers: h,
      };
    },
    allowed: 204,
    note: 'own tokens',
  },
  'POST /api/v1/auth/password': {
    who: ALL,
    // A wrong current password: 422 comes after every gate, and nothing changes.
    probe: (h) => ({
      method: 'POST',
      url: '/api/v1/auth/password',
      headers: h,
      payload: { currentPassword: 'not-it', newPassword: 'a-new-password-123' },
    }),
    allowed: 422,
    note: 'own password',
  },
  'GET /api/v1/audit-events': { who: ADMIN, probe: get('/api/v1/audit-events'), allowed: 200 },
  'GET /api/v1/service-providers': { who: ALL, probe: get('/api/v1/service-providers'), allowed: 200 },
  'POST /api/v1/service-providers': {
    who: ADMIN,
    probe: (h) => ({
      method: 'POST',
      url: '/api/v1/service-providers',
      headers: h,
      payload: { name: unique('provider'), credentialsId: nw.integration, portalType: 'm2m' },
    }),
    allowed: 201,
  },
  'GET /api/v1/devices': {
    who: ALL,
    probe: get('/api/v1/devices?limit=5'),
    allowed: 200,
    limited: { request: () => get(`/api/v1/devices?customerId=${foreign.amop.id}`)({}) },
  },
  'GET /api/v1/devices/:id/history': {
    who: ALL,
    probe: (h) => get(`/api/v1/devices/${nw.device}/history`)(h),
    allowed: 200,
    limited: { request: () => get(`/api/v1/devices/${nw.foreignDevice}/history`)({}) },
  },
  'GET /api/v1/devices/count': {
    who: ALL,
    probe: get('/api/v1/devices/count'),
    allowed: 200,
    limited: { request: () => get(`/api/v1/devices/count?customerId=${foreign.amop.id}`)({}) },
  },
  'GET /api/v1/devices/:id': {
    who: ALL,
    probe: (h) => get(`/api/v1/devices/${nw.device}`)(h),
    allowed: 200,
    limited: { request: () => get(`/api/v1/devices/${nw.foreignDevice}`)({}) },
  },
  'GET /api/v1/customers': {
    who: ALL,
    probe: get('/api/v1/customers'),
    allowed: 200,
    limited: {
      request: () => get('/api/v1/customers?limit=1000')({}),
      seen: (res) => itemIds(res).includes(foreign.amop.id),
    },
  },
  'GET /api/v1/customers/:id/sites': {
    who: ALL,
    probe: (h) => get(`/api/v1/customers/${nw.customer}/sites`)(h),
    allowed: 200,
    limited: { request: () => get(`/api/v1/customers/${foreign.amop.id}/sites`)({}) },
  },
  'GET /api/v1/customers/:id/rev-catalogue': {
    who: ALL,
    // The first read fills the cache from the Rev.io simulator; later ones are served from it.
    probe: (h) => get(`/api/v1/customers/${fleet.revCustomer.id}/rev-catalogue`)(h),
    allowed: 200,
    limited: { request: () => get(`/api/v1/customers/${foreign.rev.id}/rev-catalogue`)({}) },
  },
  'GET /api/v1/rate-plans': { who: ALL, probe: get('/api/v1/rate-plans?kind=customer'), allowed: 200 },
  'GET /api/v1/rate-pools': { who: ALL, probe: get('/api/v1/rate-pools'), allowed: 200 },
  'POST /api/v1/bulk-changes': {
    who: CHANGERS,
    probe: async (h) => {
      const devices = await freeDevices(database.pool, fleet.thingspace, 1);
      return dryRun(h, fleet.amopCustomer.id, devices);
    },
    allowed: 200,
    limited: {
      request: async () => dryRun({}, foreign.amop.id, await freeDevices(database.pool, fleet.thingspace, 1)),
    },
  },
  'GET /api/v1/bulk-changes': {
    who: ALL,
    probe: get('/api/v1/bulk-changes'),
    allowed: 200,
    limited: {
      request: () => get('/api/v1/bulk-changes?limit=1000')({}),
      seen: (res) => itemIds(res).includes(nw.foreignBulkChange),
    },
  },
  'GET /api/v1/bulk-changes/:id': {
    who: ALL,
    probe: (h) => get(`/api/v1/bulk-changes/${nw.bulkChange}`)(h),
    allowed: 200,
    limited: { request: () => get(`/api/v1/bulk-changes/${nw.foreignBulkChange}`)({}) },
  },
  'GET /api/v1/bulk-changes/:id/devices': {
    who: ALL,
    probe: (h) => get(`/api/v1/bulk-changes/${nw.bulkChange}/devices`)(h),
    allowed: 200,
    limited: { request: () => get(`/api/v1/bulk-changes/${nw.foreignBulkChange}/devices`)({}) },
  },
  'GET /api/v1/bulk-changes/:id/logs': {
    who: ALL,
    probe: (h) => get(`/api/v1/bulk-changes/${nw.bulkChange}/logs`)(h),
    allowed: 200,
    limited: { request: () => get(`/api/v1/bulk-changes/${nw.foreignBulkChange}/logs`)({}) },
  },
  'GET /api/v1/bulk-changes/:id/events': {
    who: ALL,
    // A finished change: the stream answers its state and the final event, then ends.
    probe: (h) => get(`/api/v1/bulk-changes/${nw.finishedBulkChange}/events`)(h),
    allowed: 200,
    limited: { request: () => get(`/api/v1/bulk-changes/${nw.foreignFinishedBulkChange}/events`)({}) },
  },
  'POST /api/v1/bulk-changes/:id/cancel': {
    who: CHANGERS,
    probe: async (h) => ({
      method: 'POST',
      url: `/api/v1/bulk-changes/${await openBulkChange(fleet.amopCustomer.id)}/cancel`,
      headers: h,
    }),
    allowed: 202,
    limited: {
      request: async () => ({
        method: 'POST',
        url: `/api/v1/bulk-changes/${await openBulkChange(foreign.amop.id)}/cancel`,
      }),
    },
  },
  'POST /api/v1/bulk-changes/:id/retry': {
    who: CHANGERS,
    // An open bulk change has nothing to retry: 409 is the rule that comes after the role gate.
    probe: (h) => ({ method: 'POST', url: `/api/v1/bulk-changes/${nw.bulkChange}/retry`, headers: h }),
    allowed: 409,
    limited: {
      request: () => ({ method: 'POST', url: `/api/v1/bulk-changes/${nw.foreignBulkChange}/retry` }),
    },
  },
  'POST /api/v1/bulk-changes/:id/undo': {
    who: CHANGERS,
    // An open bulk change cannot be undone yet: 409 is the rule that comes after the role gate.
    probe: (h) => post(`/api/v1/bulk-changes/${nw.bulkChange}/undo`, h, { dryRun: true }),
    allowed: 409,
    limited: {
      request: () => post(`/api/v1/bulk-changes/${nw.foreignBulkChange}/undo`, {}, { dryRun: true }),
    },
  },
  'POST /api/v1/customers': {
    who: ADMIN,
    probe: (h) => post('/api/v1/customers', h, { name: unique('Customer'), kind: 'amop' }),
    allowed: 201,
  },
  'POST /api/v1/customers/:id/sites': {
    who: ADMIN,
    probe: (h) => post(`/api/v1/customers/${nw.customer}/sites`, h, { name: unique('Site') }),
    allowed: 201,
  },
  'POST /api/v1/customers/import': {
    who: ADMIN,
    probe: (h) => post('/api/v1/customers/import', h, { csv: `name,kind\n${unique('Customer')},amop\n` }),
    allowed: 200,
  },
  'POST /api/v1/rate-plans': {
    who: ADMIN,
    probe: (h) =>
      post('/api/v1/rate-plans', h, {
        code: unique('P'),
        name: 'Walk plan',
        dataAllocationMb: 100,
        monthlyRate: 5,
      }),
    allowed: 201,
  },
  'POST /api/v1/rate-pools': {
    who: ADMIN,
    probe: (h) => post('/api/v1/rate-pools', h, { name: unique('Pool'), sharedDataMb: 1000 }),
    allowed: 201,
  },
  'POST /api/v1/service-providers/:id/devices/import': {
    who: ADMIN,
    probe: (h) =>
      post(`/api/v1/service-providers/${fleet.thingspace}/devices/import`, h, {
        csv: `iccid\n${newIccid()}\n`,
      }),
    allowed: 200,
  },
  'GET /api/v1/users': { who: ADMIN, probe: get('/api/v1/users'), allowed: 200 },
  'POST /api/v1/users': {
    who: ADMIN,
    probe: (h) => ({
      method: 'POST',
      url: '/api/v1/users',
      headers: h,
      payload: { email: `${unique('person')}@northwind.example`, name: 'Walk', role: 'viewer' },
    }),
    allowed: 201,
  },
  'PATCH /api/v1/users/:id': {
    who: ADMIN,
    probe: (h) => ({
      method: 'PATCH',
      url: `/api/v1/users/${nw.user}`,
      headers: h,
      payload: { name: 'Operator (northwind)' },
    }),
    allowed: 200,
  },
  'POST /api/v1/users/:id/password-reset': {
    who: ADMIN,
    probe: async (h) => ({
      method: 'POST',
      url: `/api/v1/users/${await newViewer()}/password-reset`,
      headers: h,
    }),
    allowed: 200,
  },
  'GET /api/v1/integrations': { who: ADMIN, probe: get('/api/v1/integrations'), allowed: 200 },
  'POST /api/v1/integrations': {
    who: ADMIN,
    probe: (h) => ({ method: 'POST', url: '/api/v1/integrations', headers: h, payload: jasperAccount() }),
    allowed: 201,
  },
  'PATCH /api/v1/integrations/:id': {
    who: ADMIN,
    probe: (h) => ({
      method: 'PATCH',
      url: `/api/v1/integrations/${nw.integration}`,
      headers: h,
      payload: { name: 'Cisco Control Center' },
    }),
    allowed: 200,
  },
  'POST /api/v1/integrations/:id/test': {
    who: ADMIN,
    // An account of its own on a closed local port: answered at once (200, ok: false), no network.
    probe: async (h) => {
      const created = await app.inject({
        method: 'POST',
        url: '/api/v1/integrations',
        headers: tokens.admin,
        payload: jasperAccount(),
      });
      return {
        method: 'POST',
        url: `/api/v1/integrations/${created.json<{ id: number }>().id}/test`,
        headers: h,
      };
    },
    allowed: 200,
  },
  'POST /api/v1/integrations/:id/catalogue/refresh': {
    who: ADMIN,
    probe: async (h) => ({
      method: 'POST',
      url: `/api/v1/integrations/${await revioAccount()}/catalogue/refresh`,
      headers: h,
    }),
    allowed: 200,
  },
  'POST /api/v1/service-providers/:id/sync': {
    who: ADMIN,
    // An open run answers again (202) with the run: the probe queues at most one per provider.
    probe: (h) => ({ method: 'POST', url: `/api/v1/service-providers/${fleet.thingspace}/sync`, headers: h }),
    allowed: 202,
  },
  'POST /api/v1/integrations/:id/sync': {
    who: ADMIN,
    // A Jasper account has no customers to sync: 422, after the role gate.
    probe: (h) => ({ method: 'POST', url: `/api/v1/integrations/${nw.integration}/sync`, headers: h }),
    allowed: 422,
  },
  'GET /api/v1/sync-runs': { who: ADMIN, probe: get('/api/v1/sync-runs'), allowed: 200 },
  'GET /api/v1/sync-runs/:id': {
    who: ADMIN,
    probe: (h) => get(`/api/v1/sync-runs/${nw.syncRun}`)(h),
    allowed: 200,
  },
  'GET /api/v1/webhooks': { who: ADMIN, probe: get('/api/v1/webhooks'), allowed: 200 },
  'POST /api/v1/webhooks': {
    who: ADMIN,
    probe: (h) => post('/api/v1/webhooks', h, { url: 'http://127.0.0.1:9/walk' }),
    allowed: 201,
  },
  'GET /api/v1/webhooks/:id': {
    who: ADMIN,
    probe: (h) => get(`/api/v1/webhooks/${nw.webhook}`)(h),
    allowed: 200,
  },
  'PATCH /api/v1/webhooks/:id': {
    who: ADMIN,
    probe: (h) => ({
      method: 'PATCH',
      url: `/api/v1/webhooks/${nw.webhook}`,
      headers: h,
      payload: { description: 'ERP' },
    }),
    allowed: 200,
  },
  'DELETE /api/v1/webhooks/:id': {
    who: ADMIN,
    probe: async (h) => ({ method: 'DELETE', url: `/api/v1/webhooks/${await newWebhook()}`, headers: h }),
    allowed: 204,
  },
  'POST /api/v1/webhooks/:id/secret': {
    who: ADMIN,
    probe: (h) => ({ method: 'POST', url: `/api/v1/webhooks/${nw.webhook}/secret`, headers: h }),
    allowed: 200,
  },
  'POST /api/v1/webhooks/:id/test': {
    who: ADMIN,
    // Refused by the closed port at once: answered 200 with `status: failed`.
    probe: (h) => ({ method: 'POST', url: `/api/v1/webhooks/${nw.webhook}/test`, headers: h }),
    allowed: 200,
  },
  'GET /api/v1/webhooks/:id/deliveries': {
    who: ADMIN,
    probe: (h) => get(`/api/v1/webhooks/${nw.webhook}/deliveries`)(h),
    allowed: 200,
  },
};

/** A viewer of northwind's of its own, whose password a probe may reset. */
async function newViewer(): Promise<number> {
  const [row] = await sql<{ id: number }>(
    `INSERT INTO app_user (tenant_id, email, name, role, password_hash)
     VALUES ($1, $2, 'Walk viewer', 'viewer', 'x') RETURNING id::int`,
    [fleet.tenantId, `${unique('viewer')}@northwind.example`],
  );
  return row!.id;
}

/** A webhook endpoint of northwind's on a closed loopback port: a test send fails at once, no network. */
async function newWebhook(): Promise<number> {
  const [row] = await sql<{ id: number }>(
    `INSERT INTO webhook_endpoint (tenant_id, url, secret) VALUES ($1, 'http://127.0.0.1:9/hook', 'whsec_walk')
     RETURNING id::int`,
    [fleet.tenantId],
  );
  return row!.id;
}

const post = (url: string, headers: Headers, payload: Record<string, unknown>): InjectOptions => ({
  method: 'POST',
  url,
  headers,
  payload,
});

/** An ICCID no device has: 19 digits with a valid check digit. */
function newIccid(): string {
  const payload = `891480009${String(process.pid % 1000).padStart(3, '0')}${String(++serial).padStart(6, '0')}`;
  return `${payload}${luhnCheckDigit(payload)}`;
}

function dryRun(
  h: Headers,
  customerId: number,
  devices: string[],
  serviceProviderId = fleet.thingspace,
): InjectOptions {
  return {
    method: 'POST',
    url: '/api/v1/bulk-changes',
    headers: h,
    payload: {
      changeType: 'customer_assignment',
      serviceProviderId,
      customerId,
      devices,
      createRevService: false,
      addCarrierRatePlan: false,
      addCustomerRatePlan: false,
      dryRun: true,
    },
  };
}

function jasperAccount() {
  return {
    integration: 'jasper',
    name: unique('jasper'),
    baseUrl: 'http://127.0.0.1:9/rws/api/v1',
    settings: { username: 'walk' },
    secrets: { apiKey: 'walk-api-key' },
  };
}

/** 403 in either shape: the API's error, or the older endpoints' `{ Success: false }`. */
function expectRefused(res: LightMyRequestResponse, status: number, context: string) {
  expect(res.statusCode, `${context}: ${res.body.slice(0, 300)}`).toBe(status);
  if (res.body === '') return;
  const body = res.json<{ error?: { code: string }; Success?: boolean }>();
  if (body.Success !== undefined) expect(body.Success).toBe(false);
  else expect(body.error?.code).toBe(status === 401 ? 'unauthenticated' : 'forbidden');
}

// ---------------------------------------------------------------------------------------------

describe("Fastify's route table", () => {
  it('holds only routes that are public for a stated reason or in RULES, and RULES only routes', () => {
    const guarded = routes.filter((r) => !isPublic(r) && r.method !== 'HEAD').map(keyOf);
    const unlisted = guarded.filter((key) => !(key in RULES));
    expect(unlisted, 'new routes: add them to RULES (or PUBLIC, with the reason)').toEqual([]);
    expect(Object.keys(RULES).filter((key) => !guarded.includes(key))).toEqual([]);
    expect(Object.keys(PUBLIC).filter((key) => !routes.some((r) => keyOf(r) === key))).toEqual([]);
    // Every GET has its HEAD, held to the same rules (checked below as well).
    for (const r of routes.filter((x) => x.method === 'GET')) {
      expect(
        routes.some((x) => x.method === 'HEAD' && x.url === r.url),
        r.url,
      ).toBe(true);
    }
    const heads = routes.filter((r) => r.method === 'HEAD').length;
    const open = routes.filter((r) => isPublic(r) && r.method !== 'HEAD').length;
    console.log(
      `route walk: ${routes.length} routes walked (${heads} of them HEAD): ` +
        `${open} public, ${guarded.length} guarded, each with its HEAD where it is a GET`,
    );
  });

  it('is read right: each parsed route is one Fastify has, and the OpenAPI document lists no other', async () => {
    for (const r of routes) {
      expect(app.hasRoute({ method: r.method, url: r.url }), keyOf(r)).toBe(true);
    }
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    const documented = Object.entries(doc.paths).flatMap(([url, operations]) =>
      Object.keys(operations).map((m) => `${m.toUpperCase()} ${url.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    const parsed = routes.map(keyOf);
    expect(documented.filter((key) => !parsed.includes(key))).toEqual([]);
    // What the document leaves out is exactly the probes, /metrics, the docs and the UI.
    const undocumented = routes
      .filter((r) => r.method !== 'HEAD' && !documented.includes(keyOf(r)))
      .filter((r) => !(isPublic(r) && !keyOf(r).includes('/api/')))
      .map(keyOf);
    // /metrics is for the scraper; GET /setup is the first-run screen's probe, which nothing can
    // refuse (no parameters, no caller), so it has no 4xx to document — left out as the probes are.
    expect(undocumented).toEqual(['GET /metrics', 'GET /api/v1/setup']);
    expect(documented.length).toBeGreaterThanOrEqual(35);
  });
});

describe('every guarded route refuses a caller without valid credentials (401)', () => {
  const anonymous: [string, (r: Route) => Partial<InjectOptions>][] = [
    [
      'no credentials, a malformed JSON body',
      (r) =>
        ['GET', 'HEAD'].includes(r.method)
          ? {}
          : { headers: { 'content-type': 'application/json' }, payload: '{"devices": [' },
    ],
    ['a garbage bearer token', () => ({ headers: { authorization: 'Bearer garbage' } })],
    [
      'a well-formed API token never issued',
      () => ({ headers: { authorization: `Bearer ${generateApiToken().token}` } }),
    ],
    [
      'a forged session cookie',
      () => ({ headers: { cookie: 'simbind_session=forged.c2lnbmF0dXJl', ...SAME_ORIGIN } }),
    ],
  ];

  it.each(anonymous)('%s', async (_name, variant) => {
    const failures: string[] = [];
    const guarded = routes.filter((r) => !isPublic(r));
    for (const r of guarded) {
      const res = await app.inject({ method: r.method as 'GET', url: concrete(r.url), ...variant(r) });
      if (res.statusCode !== 401) failures.push(`${keyOf(r)} → ${res.statusCode} ${res.body.slice(0, 120)}`);
      else if (r.method !== 'HEAD') expectRefused(res, 401, keyOf(r));
    }
    expect(failures).toEqual([]);
    expect(guarded.length).toBeGreaterThan(50);
  });

  it('public routes answer without credentials', async () => {
    const publicRoutes = routes.filter((r) => isPublic(r) && r.method !== 'HEAD');
    for (const r of publicRoutes) {
      const { status } = PUBLIC[keyOf(r)] ?? {};
      const url = concrete(r.url).replace('*', 'swagger-ui.css');
      const res = await app.inject(
        r.url === '/api/v1/auth/login'
          ? { method: 'POST', url, payload: { email: 'viewer@northwind.example', password: 'viewer-demo' } }
          : { method: r.method as 'GET', url, ...(r.method === 'POST' ? { payload: {} } : {}) },
      );
      if (status !== undefined) expect(res.statusCode, keyOf(r)).toBe(status);
      else expect(res.statusCode, keyOf(r)).toBeLessThan(400);
    }
    // The scraper's own token opens /metrics; no user's does (checked in RULES).
    const metrics = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(metrics.statusCode).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------
// Another tenant's ids. Each route naming an object by `:id`, with a northwind object's id, asked by
// contoso's admin: 404 with the body of an id that does not exist (whether it exists elsewhere is
// not told), and the object unchanged.

const BY_ID: Record<string, { id: () => number; request: (id: number) => InjectOptions }> = {
  'GET /api/v1/bulk-changes/:id': {
    id: () => nw.bulkChange,
    request: (id) => get(`/api/v1/bulk-changes/${id}`)({}),
  },
  'GET /api/v1/bulk-changes/:id/devices': {
    id: () => nw.bulkChange,
    request: (id) => get(`/api/v1/bulk-changes/${id}/devices`)({}),
  },
  'GET /api/v1/bulk-changes/:id/logs': {
    id: () => nw.bulkChange,
    request: (id) => get(`/api/v1/bulk-changes/${id}/logs`)({}),
  },
  'POST /api/v1/bulk-changes/:id/cancel': {
    id: () => nw.bulkChange,
    request: (id) => ({ method: 'POST', url: `/api/v1/bulk-changes/${id}/cancel` }),
  },
  'POST /api/v1/bulk-changes/:id/retry': {
    id: () => nw.bulkChange,
    request: (id) => ({ method: 'POST', url: `/api/v1/bulk-changes/${id}/retry` }),
  },
  'POST /api/v1/bulk-changes/:id/undo': {
    id: () => nw.bulkChange,
    request: (id) => post(`/api/v1/bulk-changes/${id}/undo`, {}, { dryRun: true }),
  },
  'GET /api/v1/devices/:id/history': {
    id: () => nw.device,
    request: (id) => get(`/api/v1/devices/${id}/history`)({}),
  },
  'GET /api/v1/devices/:id': {
    id: () => nw.device,
    request: (id) => get(`/api/v1/devices/${id}`)({}),
  },
  'GET /api/v1/bulk-changes/:id/events': {
    id: () => nw.finishedBulkChange,
    request: (id) => get(`/api/v1/bulk-changes/${id}/events`)({}),
  },
  'GET /api/v1/customers/:id/sites': {
    id: () => nw.customer,
    request: (id) => get(`/api/v1/customers/${id}/sites`)({}),
  },
  'POST /api/v1/customers/:id/sites': {
    id: () => nw.customer,
    request: (id) => post(`/api/v1/customers/${id}/sites`, {}, { name: 'Taken over' }),
  },
  'POST /api/v1/service-providers/:id/devices/import': {
    id: () => fleet.thingspace,
    request: (id) =>
      post(`/api/v1/service-providers/${id}/devices/import`, {}, { csv: 'iccid\n89148000000000000000\n' }),
  },
  'DELETE /api/v1/auth/tokens/:id': {
    id: () => nw.token,
    request: (id) => ({ method: 'DELETE', url: `/api/v1/auth/tokens/${id}` }),
  },
  'PATCH /api/v1/users/:id': {
    id: () => nw.user,
    request: (id) => ({
      method: 'PATCH',
      url: `/api/v1/users/${id}`,
      payload: { name: 'Taken over', role: 'admin' },
    }),
  },
  'POST /api/v1/users/:id/password-reset': {
    id: () => nw.user,
    request: (id) => ({ method: 'POST', url: `/api/v1/users/${id}/password-reset` }),
  },
  'PATCH /api/v1/integrations/:id': {
    id: () => nw.integration,
    request: (id) => ({
      method: 'PATCH',
      url: `/api/v1/integrations/${id}`,
      payload: { name: 'Taken over' },
    }),
  },
  'POST /api/v1/integrations/:id/test': {
    id: () => nw.integration,
    request: (id) => ({ method: 'POST', url: `/api/v1/integrations/${id}/test` }),
  },
  'GET /api/v1/customers/:id/rev-catalogue': {
    id: () => fleet.revCustomer.id,
    request: (id) => get(`/api/v1/customers/${id}/rev-catalogue`)({}),
  },
  'POST /api/v1/integrations/:id/catalogue/refresh': {
    id: () => nw.integration,
    request: (id) => ({ method: 'POST', url: `/api/v1/integrations/${id}/catalogue/refresh` }),
  },
  'POST /api/v1/service-providers/:id/sync': {
    id: () => fleet.jasper,
    request: (id) => ({ method: 'POST', url: `/api/v1/service-providers/${id}/sync` }),
  },
  'POST /api/v1/integrations/:id/sync': {
    id: () => nw.integration,
    request: (id) => ({ method: 'POST', url: `/api/v1/integrations/${id}/sync` }),
  },
  'GET /api/v1/sync-runs/:id': {
    id: () => nw.syncRun,
    request: (id) => get(`/api/v1/sync-runs/${id}`)({}),
  },
  'GET /api/v1/webhooks/:id': {
    id: () => nw.webhook,
    request: (id) => get(`/api/v1/webhooks/${id}`)({}),
  },
  'PATCH /api/v1/webhooks/:id': {
    id: () => nw.webhook,
    request: (id) => ({
      method: 'PATCH',
      url: `/api/v1/webhooks/${id}`,
      payload: { url: 'http://127.0.0.1:9/taken-over' },
    }),
  },
  'DELETE /api/v1/webhooks/:id': {
    id: () => nw.webhook,
    request: (id) => ({ method: 'DELETE', url: `/api/v1/webhooks/${id}` }),
  },
  'POST /api/v1/webhooks/:id/secret': {
    id: () => nw.webhook,
    request: (id) => ({ method: 'POST', url: `/api/v1/webhooks/${id}/secret` }),
  },
  'POST /api/v1/webhooks/:id/test': {
    id: () => nw.webhook,
    request: (id) => ({ method: 'POST', url: `/api/v1/webhooks/${id}/test` }),
  },
  'GET /api/v1/webhooks/:id/deliveries': {
    id: () => nw.webhook,
    request: (id) => get(`/api/v1/webhooks/${id}/deliveries`)({}),
  },
};

/** The same answer for any id: the id itself, wherever the body names it, is left out. */
const withoutId = (res: LightMyRequestResponse, id: number) =>
  res.body.replace(new RegExp(`\\b${id}\\b`, 'g'), ':id');

/** Everything a foreign caller could change through those routes, for northwind. */
async function northwindState() {
  return {
    bulkChanges: await sql('SELECT id, status, cancel_requested_at FROM bulk_change ORDER BY id'),
    workOrders: await sql('SELECT id, status FROM bulk_change_device ORDER BY id'),
    tokens: await sql('SELECT id, revoked_at FROM api_token ORDER BY id'),
    users: await sql('SELECT id, name, role, active, password_hash FROM app_user ORDER BY id'),
    sessions: await sql('SELECT id_hash FROM user_session ORDER BY id_hash'),
    accounts: await sql('SELECT id, name, base_url, settings FROM integration_credentials ORDER BY id'),
    sites: await sql('SELECT id, customer_id, name, is_default FROM site ORDER BY id'),
    webhooks: await sql(
      'SELECT id, url, active, sealed_secret, secret, secret_set_at FROM webhook_endpoint ORDER BY id',
    ),
    deliveries: await sql('SELECT count(*)::int AS n FROM notification_delivery'),
    syncRuns: await sql('SELECT id, status FROM sync_run ORDER BY id'),
    devices: await sql('SELECT count(*)::int AS n FROM device'),
  };
}

describe("another tenant's ids answer 404, as ids that do not exist", () => {
  it('covers every guarded route with an :id', () => {
    const withId = routes.filter((r) => !isPublic(r) && r.method !== 'HEAD' && r.url.includes('/:'));
    expect(withId.map(keyOf).filter((key) => !(key in BY_ID))).toEqual([]);
    expect(Object.keys(BY_ID).filter((key) => !withId.some((r) => keyOf(r) === key))).toEqual([]);
  });

  it.each(Object.keys(BY_ID))('%s', async (key) => {
    const { id, request } = BY_ID[key]!;
    const before = await northwindState();
    const heads = key.startsWith('GET ') ? ['GET', 'HEAD'] : [key.split(' ')[0]!];
    for (const method of heads) {
      const as = (target: number) =>
        app.inject({ ...request(target), method: method as 'GET', headers: { ...tokens.contoso } });
      const foreignId = await as(id());
      const missing = await as(MISSING);
      expect(foreignId.statusCode, `${method}: ${foreignId.body}`).toBe(404);
      expect(missing.statusCode).toBe(404);
      expect(withoutId(foreignId, id())).toBe(withoutId(missing, MISSING));
    }
    expect(await northwindState()).toEqual(before);
    // The id is real: northwind's own admin reads it.
    if (key.startsWith('GET ')) {
      const own = await app.inject({ ...request(id()), headers: { ...tokens.admin } });
      expect(own.statusCode).toBe(200);
    }
  });

  it("answers 404 for northwind's ids in a query string or a body, as for unknown ones", async () => {
    const contoso = await loadFleet(database.pool, 'contoso');
    const nwSite = fleet.amopCustomer.defaultSiteId;
    const cases: [string, number, (id: number) => InjectOptions][] = [
      ['devices by customer', nw.customer, (id) => get(`/api/v1/devices?customerId=${id}`)({})],
      ['devices by provider', fleet.thingspace, (id) => get(`/api/v1/devices?serviceProviderId=${id}`)({})],
      [
        'carrier rate plans of a provider',
        fleet.thingspace,
        (id) => get(`/api/v1/rate-plans?kind=carrier&serviceProviderId=${id}`)({}),
      ],
      ['a submission to a customer', nw.customer, (id) => dryRun({}, id, ['1'], contoso.thingspace)],
      [
        'a submission through a provider',
        fleet.thingspace,
        (id) => dryRun({}, contoso.amopCustomer.id, ['1'], id),
      ],
      [
        'the older AMOP entry point, by site',
        nwSite,
        (id) => ({
          method: 'POST',
          url: '/M2M/AssociateAmopCustomer',
          payload: { Devices: ['1'], ServiceProviderId: contoso.thingspace, SiteId: id },
        }),
      ],
      [
        'the older entry point, by Rev customer id',
        fleet.revCustomer.revCustomerId,
        (id) => ({
          method: 'POST',
          url: '/M2M/AssociateCustomer',
          payload: { Devices: ['1'], ServiceProviderId: contoso.thingspace, RevCustomerId: id },
        }),
      ],
    ];
    const before = await northwindState();
    for (const [name, id, request] of cases) {
      const as = (target: number) => app.inject({ ...request(target), headers: { ...tokens.contoso } });
      const foreignId = await as(id);
      // Legacy ids are held to 15 digits; this one is unknown in every tenant too.
      const missing = await as(name.startsWith('the older') ? 999_999_999 : MISSING);
      expect(foreignId.statusCode, `${name}: ${foreignId.body}`).toBe(404);
      expect(withoutId(foreignId, id), name).toBe(
        withoutId(missing, name.startsWith('the older') ? 999_999_999 : MISSING),
      );
    }
    expect(await northwindState()).toEqual(before);
  });
});

// ---------------------------------------------------------------------------------------------

const checked: Record<Role, number> = { admin: 0, operator: 0, viewer: 0 };

describe('RULES: each role gets what its row says', () => {
  it.each(Object.keys(RULES))('%s', async (key) => {
    const rule = RULES[key]!;
    for (const role of ROLES) {
      const res = await app.inject(await rule.probe({ ...tokens[role] }, role));
      if (rule.who.includes(role)) {
        expect(res.statusCode, `${role}: ${res.body.slice(0, 300)}`).toBe(rule.allowed);
      } else {
        expectRefused(res, rule.denied ?? 403, role);
      }
      checked[role] += 1;
    }
    if (rule.limited) {
      const { request, seen = (res) => res.statusCode !== 404 } = rule.limited;
      const asAdmin = await app.inject({ ...(await request()), headers: { ...tokens.admin } });
      const asOperator = await app.inject({ ...(await request()), headers: { ...tokens.operator } });
      expect(seen(asAdmin), `admin: ${asAdmin.statusCode} ${asAdmin.body.slice(0, 200)}`).toBe(true);
      expect(seen(asOperator), `operator: ${asOperator.statusCode} ${asOperator.body.slice(0, 200)}`).toBe(
        false,
      );
      if (asOperator.statusCode === 404) expect(asOperator.body).toMatch(/not found/i);
    }
  });

  afterAll(() => {
    const limited = Object.values(RULES).filter((r) => r.limited).length;
    console.log(
      `route walk: ${Object.keys(RULES).length} guarded routes checked per role — ` +
        `admin ${checked.admin}, operator ${checked.operator} (${limited} limited to its customers), viewer ${checked.viewer}`,
    );
  });
});

/** The README's cell for a role on a route. */
function cell(rule: Rule, role: Role): string {
  if (!rule.who.includes(role)) return String(rule.denied ?? 403);
  return role === 'operator' && rule.limited ? '✓ its customers' : '✓';
}

describe('the README', () => {
  const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
  // From its bold lead-in to the next paragraph that has one (the section's own do not).
  const section = readme.split('**Who may do what.**')[1]?.split(/\n\n\*\*/)[0] ?? '';

  it('"Who may do what" is RULES, row for row', () => {
    const rows = section
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) =>
        line
          .split('|')
          .slice(1, -1)
          .map((c) => c.trim()),
      );
    const expected = Object.entries(RULES).map(([key, rule]) => [
      `\`${key}\``,
      ...ROLES.map((role) => cell(rule, role)),
      '401',
      rule.note ?? '',
    ]);
    expect(rows).toEqual(expected);
  });

  it('names every public API route', () => {
    for (const key of Object.keys(PUBLIC).filter((k) => k.includes('/api/') || k.endsWith('z'))) {
      expect(section).toContain(`\`${key}\``);
    }
  });
});
