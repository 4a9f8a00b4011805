import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildThingSpaceSimulator } from '../../simulators/thingspace.simulator.ts';
import { loadConfig } from '../../src/config.ts';
import { DEMO_THINGSPACE_ACCOUNT } from '../../src/db/repositories/seed.repository.ts';
import { buildApp, type TypedApp } from '../../src/http/app.ts';
import { REDACTED, redactUrl } from '../../src/http/log-redaction.ts';
import { startQueue, type JobQueue } from '../../src/jobs/queue.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { createServices } from '../../src/wiring.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * The ThingSpace callback URL authenticates by the token in its path: Fastify's request log line
 * must not carry it (nor a secret in a query string), while still saying which route was called.
 */

let database: TestDatabase;
let queue: JobQueue;
let thingspace: FastifyInstance;
let app: TypedApp;
const logLines: string[] = [];
let callbackPath: string;
let token: string;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 10 });
  thingspace = buildThingSpaceSimulator({
    appKey: 'demo-app-key',
    appSecret: 'demo-app-secret',
    users: [{ username: 'simbind', password: 'demo-password' }],
  });
  const thingspaceUrl = `${await thingspace.listen({ port: 0, host: '127.0.0.1' })}/api`;
  queue = await startQueue({ connectionString: database.url, pollSeconds: 1, supervise: false });
  const services = createServices({
    config: loadConfig({ LOG_LEVEL: 'info', PUBLIC_URL: 'http://simbind.test' }),
    database,
    queue,
    resolveBaseUrl: (url) => (url === 'simulator://thingspace' ? thingspaceUrl : url),
  });
  app = await buildApp({
    services,
    cookieSecret: 'test-cookie-secret-0123456789abcdef',
    logLevel: 'info',
    logStream: { write: (line: string) => void logLines.push(line) },
  });

  // The URL simbind registers at ThingSpace, exactly as ThingSpace will call it.
  const [{ id: credentialsId }] = (
    await database.pool.query<{ id: number }>(
      `SELECT c.id FROM integration_credentials c JOIN tenant t ON t.id = c.tenant_id
       WHERE t.slug = 'northwind' AND c.integration = 'thingspace'`,
    )
  ).rows as [{ id: number }];
  await services.carrierCallbacks.ensureRegistered(credentialsId);
  const state = (await thingspace.inject({ method: 'GET', url: '/__sim/state' })).json<{
    callbacks: { accountName: string; url: string }[];
  }>();
  const registered = state.callbacks.find((c) => c.accountName === DEMO_THINGSPACE_ACCOUNT);
  if (!registered) throw new Error('the callback was not registered at ThingSpace');
  callbackPath = new URL(registered.url).pathname;
  token = callbackPath.split('/').at(-1)!;
}, 60_000);

afterAll(async () => {
  await app?.close();
  await queue?.stop();
  await thingspace?.close();
  await database?.drop();
});

const logText = () => logLines.join('');

describe('request log lines', () => {
  it('show the callback route without its token, for an accepted callback and a refused method', async () => {
    expect(token.length).toBeGreaterThanOrEqual(32);
    logLines.length = 0;
    const res = await app.inject({
      method: 'POST',
      url: callbackPath,
      payload: { requestId: 'no-such-request', status: 'Success', deviceIds: [] },
    });
    expect(res.statusCode, res.body).toBe(200);
    const wrongMethod = await app.inject({ method: 'GET', url: callbackPath });
    expect(wrongMethod.statusCode).toBe(404);

    const text = logText();
    expect(text).toContain('request completed');
    expect(text).toContain(`/api/v1/carrier-callbacks/thingspace/${REDACTED}`);
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.slice(0, 12));
  });

  it('show a query string with secret-looking parameters redacted and the others as sent', async () => {
    logLines.length = 0;
    await app.inject({
      method: 'GET',
      url: '/api/v1/bulk-changes?limit=5&access_token=qq-secret-value-1&api_key=qq-secret-value-2&status=ERROR',
    });
    const text = logText();
    expect(text).toContain(
      `/api/v1/bulk-changes?limit=5&access_token=${REDACTED}&api_key=${REDACTED}&status=ERROR`,
    );
    expect(text).not.toContain('qq-secret-value');
  });
});

describe('the request log', () => {
  it('writes one line per request: a quick success at debug only, a refusal at info', async () => {
    logLines.length = 0;
    const ok = await app.inject({ method: 'GET', url: '/healthz' });
    expect(ok.statusCode).toBe(200);
    const refused = await app.inject({ method: 'GET', url: '/api/v1/bulk-changes' });
    expect(refused.statusCode).toBe(401);
    const lines = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      req: { method: 'GET', url: '/api/v1/bulk-changes' },
      res: { statusCode: 401 },
    });
    expect(typeof lines[0]!.responseTime).toBe('number');
  });
});

describe('redactUrl', () => {
  it.each([
    ['/api/v1/carrier-callbacks/thingspace/abcDEF123', `/api/v1/carrier-callbacks/thingspace/${REDACTED}`],
    [
      '//api/v1/carrier-callbacks/thingspace/abc/extra',
      `//api/v1/carrier-callbacks/thingspace/${REDACTED}/extra`,
    ],
    ['/api/v1/carrier-callbacks/thingspace/abc?x=1', `/api/v1/carrier-callbacks/thingspace/${REDACTED}?x=1`],
    ['/x?Token=a&b=2#frag', `/x?Token=${REDACTED}&b=2#frag`],
    [
      '/x?password=p&client_secret=s&sig=z&code=c',
      `/x?password=${REDACTED}&client_secret=${REDACTED}&sig=${REDACTED}&code=${REDACTED}`,
    ],
    ['/x?page=2&cursor=abc', '/x?page=2&cursor=abc'],
    ['/api/v1/bulk-changes/17/logs', '/api/v1/bulk-changes/17/logs'],
  ])('%s → %s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it("replaces a secret route parameter's whole segment, as sent or percent-encoded", () => {
    expect(redactUrl('/hooks/a%2Fb/v1', ['a/b'])).toBe(`/hooks/${REDACTED}/v1`);
    expect(redactUrl('/hooks/1/v1', ['1'])).toBe(`/hooks/${REDACTED}/v1`);
  });
});
