import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type TypedApp } from '../../src/http/app.ts';
import { webRoutes } from '../../src/http/routes/web.routes.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestApp, buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, loadFleet } from '../helpers/fleet.ts';

/**
 * Security review, issue 18 item 8: every answer says nosniff and sends no Referer onwards;
 * authenticated JSON and CSV answers are never stored by a cache; `/docs` has a CSP; HSTS is sent
 * whenever the client came over https. The UI's own CSP stays as it is.
 */

let database: TestDatabase;
let app: TestApp;
/** The same services with the UI, as `simbind serve` builds it. */
let withUi: TypedApp;
/** Behind a trusted proxy on loopback (TRUST_PROXY), for requests that came over https. */
let proxied: TypedApp;
let admin: Record<string, string>;
let bulkChangeId: number;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 600 });
  app = await buildTestAppWithServices(database);
  withUi = await buildApp({
    services: app.services,
    cookieSecret: 'test-cookie-secret-0123456789abcdef',
    logLevel: 'silent',
    extraRoutes: [webRoutes],
  });
  proxied = await buildTestApp(database, { TRUST_PROXY: 'loopback' });
  admin = await authHeaders(database.db, 'admin@northwind.example');
  const fleet = await loadFleet(database.pool);
  const submitted = await postAssignment(app, admin, {
    serviceProviderId: fleet.thingspace,
    customerId: fleet.amopCustomer.id,
    devices: await freeDevices(database.pool, fleet.thingspace, 2),
    createRevService: false,
    addCarrierRatePlan: false,
    addCustomerRatePlan: false,
  });
  expect(submitted.statusCode, submitted.body).toBe(202);
  bulkChangeId = submitted.json<{ id: number }>().id;
});
afterAll(async () => {
  await proxied.close();
  await withUi.close();
  await app.close();
  await database.drop();
});

const get = (url: string, headers: Record<string, string> = {}, target: TypedApp = app) =>
  target.inject({ method: 'GET', url, headers });

function expectBaseline(res: LightMyRequestResponse) {
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
}

describe('API answers', () => {
  it('authenticated JSON: nosniff, no referrer, no-store', async () => {
    for (const url of [
      '/api/v1/devices?limit=5',
      `/api/v1/bulk-changes/${bulkChangeId}`,
      '/api/v1/auth/me',
    ]) {
      const res = await get(url, admin);
      expect(res.statusCode, url).toBe(200);
      expectBaseline(res);
      expect(res.headers['cache-control'], url).toBe('no-store');
    }
  });

  it('the CSV export: no-store', async () => {
    const res = await get(`/api/v1/bulk-changes/${bulkChangeId}/devices`, { ...admin, accept: 'text/csv' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expectBaseline(res);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('the sign-in answer, which carries the user and the cookie: no-store', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { origin: 'http://localhost' },
      payload: { email: 'viewer@northwind.example', password: 'viewer-demo' },
    });
    expect(res.statusCode).toBe(200);
    expectBaseline(res);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('errors and public answers get the baseline too', async () => {
    const anonymous = await get('/api/v1/devices');
    expect(anonymous.statusCode).toBe(401);
    expectBaseline(anonymous);
    const health = await get('/healthz');
    expectBaseline(health);
  });
});

describe('/docs', () => {
  it('has a CSP that allows only its own scripts and styles, and cannot be framed', async () => {
    for (const url of ['/docs/', '/docs/static/swagger-initializer.js']) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expectBaseline(res);
      const csp = String(res.headers['content-security-policy']);
      expect(csp, url).toContain("default-src 'self'");
      expect(csp, url).toContain("script-src 'self'");
      expect(csp, url).toContain("object-src 'none'");
      expect(csp, url).toContain("frame-ancestors 'none'");
      expect(csp, url).not.toContain('unsafe-inline');
      expect(csp, url).not.toContain('https:');
    }
  });

  it('serves an index whose scripts and styles are all files (nothing inline the CSP would block)', async () => {
    const html = (await get('/docs/')).body;
    const scripts = html.match(/<script[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toMatch(/\ssrc="/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });
});

describe('the UI', () => {
  it('keeps its own CSP and gets the baseline', async () => {
    const res = await get('/', {}, withUi);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['cache-control']).toBe('no-cache');
    expectBaseline(res);
  });

  it('serves what the browser fetches, and not the files of web/ that only tsc reads', async () => {
    for (const url of [
      '/app.js',
      '/lib/api.js',
      '/styles.css',
      '/styles/layout.css',
      '/templates/devices.csv',
    ]) {
      expect((await get(url, {}, withUi)).statusCode, url).toBe(200);
    }
    for (const url of ['/tsconfig.json', '/lib/types.js']) {
      const res = await get(url, {}, withUi);
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toContain('compilerOptions');
    }
  });
});

describe('HSTS', () => {
  it('is sent when the client came over https (through a trusted proxy), never over plain http', async () => {
    const https = await get('/api/v1/auth/me', { ...admin, 'x-forwarded-proto': 'https' }, proxied);
    expect(https.headers['strict-transport-security']).toBe('max-age=31536000');
    const plain = await get('/api/v1/auth/me', admin, proxied);
    expect(plain.headers['strict-transport-security']).toBeUndefined();
    // Without TRUST_PROXY the header is the client's word, and ignored.
    const spoofed = await get('/api/v1/auth/me', { ...admin, 'x-forwarded-proto': 'https' });
    expect(spoofed.headers['strict-transport-security']).toBeUndefined();
  });
});
