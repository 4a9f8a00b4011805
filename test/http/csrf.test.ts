import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type TypedApp } from '../../src/http/app.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';

/**
 * Security review, issue 18 item 5: a state change (POST/PUT/PATCH/DELETE) authenticated by the
 * session cookie must come from simbind's own pages, whatever its body: `Sec-Fetch-Site` says
 * same-origin (or none), or `Origin` is the request's own origin or PUBLIC_URL's. A cross-site one,
 * or one with neither header, answers 403 and changes nothing. Bearer tokens are not ambient
 * credentials and are not checked. Sign-in from another site is refused too.
 */

type Headers = Record<string, string>;

let database: TestDatabase;
let app: TestApp;
/** The same services behind an app that knows its PUBLIC_URL. */
let published: TypedApp;
let fleet: Fleet;
let bearer: Headers;
/** The admin's session cookie, as a `cookie` header. */
let session: Headers;

const SAME_ORIGIN = { origin: 'http://localhost' };
const EVIL = { origin: 'https://evil.example' };
const PUBLIC_URL = 'https://simbind.example.com';

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 2000 });
  app = await buildTestAppWithServices(database);
  published = await buildApp({
    services: app.services,
    cookieSecret: 'test-cookie-secret-0123456789abcdef',
    logLevel: 'silent',
    publicUrl: PUBLIC_URL,
  });
  fleet = await loadFleet(database.pool);
  bearer = await authHeaders(database.db, 'admin@northwind.example');
  const login = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    headers: SAME_ORIGIN,
    payload: { email: 'admin@northwind.example', password: 'admin-demo' },
  });
  const cookie = login.cookies.find((c) => c.name === 'simbind_session');
  if (!cookie) throw new Error(`login failed: ${login.statusCode} ${login.body}`);
  session = { cookie: `simbind_session=${cookie.value}` };
});
afterAll(async () => {
  await published.close();
  await app.close();
  await database.drop();
});

const q = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];

/** A bulk change whose devices are all still pending (no worker runs here): cancellable. */
async function openBulkChange(): Promise<number> {
  const res = await postAssignment(app, bearer, {
    serviceProviderId: fleet.thingspace,
    customerId: fleet.amopCustomer.id,
    devices: await freeDevices(database.pool, fleet.thingspace, 3),
    createRevService: false,
    addCarrierRatePlan: false,
    addCustomerRatePlan: false,
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ id: number }>().id;
}

/** Everything a cancel writes: the bulk change row and its work orders. */
const stateOf = async (id: number) => ({
  bulkChange: await q('SELECT status, cancel_requested_at FROM bulk_change WHERE id = $1', [id]),
  workOrders: await q('SELECT id, status FROM bulk_change_device WHERE bulk_change_id = $1 ORDER BY id', [
    id,
  ]),
});

const cancel = (id: number, headers: Headers, target: TypedApp = app) =>
  target.inject({
    method: 'POST',
    url: `/api/v1/bulk-changes/${id}/cancel`,
    headers: { 'content-type': 'text/plain', ...headers },
    payload: 'x',
  });

describe('the entry point a bulk change records', () => {
  it('is ui for a submission with the screens’ session cookie, api for one with a token', async () => {
    const submit = async (headers: Headers) => {
      const res = await postAssignment(app, headers, {
        serviceProviderId: fleet.thingspace,
        customerId: fleet.amopCustomer.id,
        devices: await freeDevices(database.pool, fleet.thingspace, 1),
        createRevService: false,
        addCarrierRatePlan: false,
        addCustomerRatePlan: false,
      });
      expect(res.statusCode, res.body).toBe(202);
      const id = res.json<{ id: number }>().id;
      const view = await app.inject({ method: 'GET', url: `/api/v1/bulk-changes/${id}`, headers: bearer });
      return view.json<{ source: string }>().source;
    };
    expect(await submit({ ...session, ...SAME_ORIGIN })).toBe('ui');
    expect(await submit(bearer)).toBe('api');
  });
});

describe('a state change with the session cookie', () => {
  it('from another site (Origin: https://evil.example, text/plain) answers 403 and cancels nothing', async () => {
    const id = await openBulkChange();
    const before = await stateOf(id);
    const res = await cancel(id, { ...session, ...EVIL });
    expect(res.statusCode).toBe(403);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('forbidden');
    expect(await stateOf(id)).toEqual(before);
  });

  it('answers 403 when Sec-Fetch-Site says cross-site or same-site, or when neither header is sent', async () => {
    const id = await openBulkChange();
    const before = await stateOf(id);
    const refused: Headers[] = [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'null' },
      { origin: 'http://localhost.evil.example' },
      {},
    ];
    for (const headers of refused) {
      const res = await cancel(id, { ...session, ...headers });
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
    }
    expect(await stateOf(id)).toEqual(before);
  });

  it('passes from the same origin (Origin, or Sec-Fetch-Site: same-origin / none)', async () => {
    const first = await openBulkChange();
    expect((await cancel(first, { ...session, ...SAME_ORIGIN })).statusCode).toBe(202);
    expect((await stateOf(first)).bulkChange).toEqual([
      expect.objectContaining({ cancel_requested_at: expect.any(Date) as Date }),
    ]);

    for (const site of ['same-origin', 'none']) {
      const id = await openBulkChange();
      const res = await cancel(id, { ...session, 'sec-fetch-site': site });
      expect(res.statusCode, site).toBe(202);
    }
  });

  it("passes when Origin is PUBLIC_URL's, and refuses others there", async () => {
    const id = await openBulkChange();
    expect(
      (await cancel(id, { ...session, origin: 'https://other.example.com' }, published)).statusCode,
    ).toBe(403);
    expect((await cancel(id, { ...session, origin: PUBLIC_URL }, published)).statusCode).toBe(202);
  });

  it('refuses a cross-site DELETE of an API token and a cross-site sign-out', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/tokens',
      headers: { ...session, ...SAME_ORIGIN },
      payload: { name: 'kept' },
    });
    expect(created.statusCode).toBe(201);
    const { id, token } = created.json<{ id: number; token: string }>();

    const revoke = await app.inject({
      method: 'DELETE',
      url: `/api/v1/auth/tokens/${id}`,
      headers: { ...session, ...EVIL },
    });
    expect(revoke.statusCode).toBe(403);
    const me = (headers: Headers) => app.inject({ method: 'GET', url: '/api/v1/auth/me', headers });
    expect((await me({ authorization: `Bearer ${token}` })).statusCode).toBe(200);

    const logout = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { ...session, ...EVIL },
    });
    expect(logout.statusCode).toBe(403);
    expect(logout.headers['set-cookie']).toBeUndefined();
    expect((await me(session)).statusCode).toBe(200);
  });

  it('reads are not state changes: a cross-site GET with the cookie still answers', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { ...session, ...EVIL } });
    expect(res.statusCode).toBe(200);
  });
});

describe('a Bearer token', () => {
  it('is not checked: it is no ambient credential a foreign page could make the browser send', async () => {
    const id = await openBulkChange();
    const res = await cancel(id, { ...bearer, ...EVIL, ...session });
    expect(res.statusCode).toBe(202);
  });
});

describe('sign-in', () => {
  const login = (headers: Headers) =>
    app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers,
      payload: { email: 'viewer@northwind.example', password: 'viewer-demo' },
    });
  const sessions = async () =>
    Number((await q<{ n: number }>('SELECT count(*)::int AS n FROM user_session'))[0]!.n);

  it('from another site answers 403, sets no cookie and starts no session', async () => {
    const before = await sessions();
    for (const headers of [EVIL, { 'sec-fetch-site': 'cross-site' }]) {
      const res = await login(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expect(await sessions()).toBe(before);
  });

  it('from the same origin, or from a script sending neither header, signs in', async () => {
    expect((await login(SAME_ORIGIN)).statusCode).toBe(200);
    expect((await login({ 'sec-fetch-site': 'same-origin' })).statusCode).toBe(200);
    expect((await login({})).statusCode).toBe(200);
  });
});
