import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import type { TypedApp } from '../../src/http/app.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestApp } from '../helpers/app.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * `/metrics` counts every tenant's bulk changes, so it is for the platform's scraper only:
 * with METRICS_TOKEN it needs that bearer token; without one it answers only on a server that
 * listens on loopback, to a request no proxy forwarded, and is a 404 otherwise.
 */

const METRICS_TOKEN = 'scrape-0123456789abcdef-token';

let database: TestDatabase;
const apps: TypedApp[] = [];

async function appWith(env: Record<string, string>): Promise<TypedApp> {
  const app = await buildTestApp(database, env);
  apps.push(app);
  return app;
}

let loopback: TypedApp;
let exposed: TypedApp;
let tokened: TypedApp;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 10 });
  loopback = await appWith({ HOST: '127.0.0.1' });
  exposed = await appWith({ HOST: '0.0.0.0' });
  tokened = await appWith({ HOST: '0.0.0.0', METRICS_TOKEN });
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await database.drop();
});

const metrics = (app: TypedApp, headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url: '/metrics', headers });

describe('/metrics without METRICS_TOKEN', () => {
  it('stays open when the server listens on loopback only', async () => {
    for (const HOST of ['localhost', '127.0.0.1', '::1']) {
      const app = HOST === '127.0.0.1' ? loopback : await appWith({ HOST });
      const res = await metrics(app);
      expect(res.statusCode, HOST).toBe(200);
      expect(res.body).toContain('# TYPE simbind_bulk_changes gauge');
    }
  });

  it('answers 404, as if absent, when the server listens on another interface', async () => {
    const res = await metrics(exposed);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'not_found', message: 'No route GET /metrics' } });
    expect(res.body).not.toContain('simbind_bulk_changes');
  });

  it('answers 404 on loopback too when a proxy forwarded the request', async () => {
    const viaProxy = await metrics(loopback, { 'x-forwarded-for': '203.0.113.9' });
    expect(viaProxy.statusCode).toBe(404);
    const viaForwarded = await metrics(loopback, { forwarded: 'for=203.0.113.9' });
    expect(viaForwarded.statusCode).toBe(404);
  });

  it('answers 404 on loopback too when TRUST_PROXY says a proxy stands in front', async () => {
    const proxied = await appWith({ HOST: 'localhost', TRUST_PROXY: 'loopback' });
    expect((await metrics(proxied)).statusCode).toBe(404);
  });

  it('leaves the probes open wherever the server listens', async () => {
    expect((await exposed.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await exposed.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  it('answers 200 to Authorization: Bearer <METRICS_TOKEN>', async () => {
    const res = await metrics(tokened, { authorization: `Bearer ${METRICS_TOKEN}` });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('# TYPE simbind_bulk_changes gauge');
  });

  it('answers 401 without it, with another token, or with a tenant’s API token', async () => {
    const wrongSameLength = METRICS_TOKEN.replace(/.$/, 'X');
    const tenantToken = await authHeaders(database.db, 'admin@northwind.example');
    const attempts: Record<string, string>[] = [
      {},
      { authorization: `Bearer ${wrongSameLength}` },
      { authorization: `Bearer ${METRICS_TOKEN}x` },
      { authorization: `Basic ${Buffer.from(`metrics:${METRICS_TOKEN}`).toString('base64')}` },
      { authorization: METRICS_TOKEN },
      tenantToken,
    ];
    for (const headers of attempts) {
      const res = await metrics(tokened, headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
      expect(res.json<{ error: { code: string } }>().error.code).toBe('unauthenticated');
      expect(res.body).not.toContain('simbind_bulk_changes');
    }
  });

  it('requires the token on loopback too', async () => {
    const app = await appWith({ HOST: 'localhost', METRICS_TOKEN });
    expect((await metrics(app)).statusCode).toBe(401);
    expect((await metrics(app, { authorization: `Bearer ${METRICS_TOKEN}` })).statusCode).toBe(200);
  });

  it('takes the scheme in any case (RFC 9110)', async () => {
    expect((await metrics(tokened, { authorization: `bearer ${METRICS_TOKEN}` })).statusCode).toBe(200);
  });

  it('is refused at start when shorter than 16 characters', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(
      /METRICS_TOKEN: must be at least 16 characters/,
    );
  });
});
