import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { buildApp, type TypedApp } from '../../src/http/app.ts';
import { startQueue, type JobQueue } from '../../src/jobs/queue.ts';
import { issueSetupCode } from '../../src/services/setup.service.ts';
import { createServices, type Services } from '../../src/wiring.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * The first-run screen's API (issue 11, item 1) on databases with no tenant: `GET /setup` says only
 * whether setup is needed; `POST /setup` needs a setup code printed at start, counts wrong codes
 * like failed sign-ins, creates the tenant and its admin once (also when several try at once), signs
 * the admin in, and retires every code. No code ever reaches a log line or an answer.
 */

interface World {
  database: TestDatabase;
  queue: JobQueue;
  services: Services;
  app: TypedApp;
  logLines: string[];
}

async function world(): Promise<World> {
  const database = await createTestDatabase();
  const queue = await startQueue({ connectionString: database.url, pollSeconds: 1, supervise: false });
  const services = createServices({ config: loadConfig({ LOG_LEVEL: 'debug' }), database, queue });
  const logLines: string[] = [];
  // At debug, every request is logged: the most a log could ever hold.
  const app = await buildApp({
    services,
    cookieSecret: 'test-cookie-secret-0123456789abcdef',
    logLevel: 'debug',
    logStream: { write: (line: string) => void logLines.push(line) },
  });
  return { database, queue, services, app, logLines };
}

async function close(w: World | undefined): Promise<void> {
  if (!w) return;
  await w.app.close();
  await w.queue.stop();
  await w.database.drop();
}

let addresses = 0;
const freshAddress = () => `10.77.${Math.floor(++addresses / 250)}.${addresses % 250}`;

const form = (setupCode: string, change: Record<string, unknown> = {}) => ({
  setupCode,
  tenantName: 'Acme IoT',
  adminEmail: 'admin@acme.example',
  adminName: 'Ada Admin',
  password: 'acme-admin-password',
  ...change,
});

const post = (w: World, payload: unknown, remoteAddress = freshAddress()) =>
  w.app.inject({ method: 'POST', url: '/api/v1/setup', payload: payload as object, remoteAddress });

async function counts(w: World) {
  const { rows } = await w.database.pool.query<{ tenants: number; users: number; codes: number }>(
    `SELECT (SELECT count(*)::int FROM tenant) AS tenants, (SELECT count(*)::int FROM app_user) AS users,
            (SELECT count(*)::int FROM setup_code) AS codes`,
  );
  return rows[0]!;
}

const errorOf = (res: LightMyRequestResponse) =>
  res.json<{ error: { code: string; message: string; details?: { path: string }[] } }>().error;

describe('first-run setup', () => {
  let w: World;
  let code: string;
  const responses: LightMyRequestResponse[] = [];

  beforeAll(async () => {
    w = await world();
    code = (await issueSetupCode(w.database.db))!;
  });
  afterAll(async () => close(w));

  it('is needed on a database with no tenant, and GET /setup says nothing else', async () => {
    const res = await w.app.inject({ method: 'GET', url: '/api/v1/setup' });
    responses.push(res);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ needed: true });
    expect(code).toMatch(/^[0-9a-f]{32}$/);
  });

  it('refuses a wrong code with 403 and writes nothing', async () => {
    const before = await counts(w);
    for (const wrong of ['', 'x'.repeat(32), code.slice(0, -1), `${code}0`]) {
      const res = await post(w, form(wrong));
      responses.push(res);
      // An empty code is bad input (400, naming it); the others are wrong codes.
      expect(res.statusCode, res.body).toBe(wrong === '' ? 400 : 403);
      if (wrong === '') expect(errorOf(res).details?.map((d) => d.path)).toContain('/setupCode');
      expect(res.cookies.find((c) => c.name === 'simbind_session')).toBeUndefined();
    }
    expect(await counts(w)).toEqual(before);
    expect(before).toEqual({ tenants: 0, users: 0, codes: 1 });
  });

  it('counts wrong codes per client address like failed sign-ins: 429 with Retry-After past five', async () => {
    const address = freshAddress();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const res = await post(w, form('0'.repeat(32)), address);
      responses.push(res);
      statuses.push(res.statusCode);
      if (res.statusCode === 429) expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([403, 403, 403, 403, 403, 429]);
    // Even the right code waits now, from that address; another address is not held up.
    expect((await post(w, form(code, { password: 'short' }), address)).statusCode).toBe(429);
    expect((await post(w, form(code, { password: 'short' }))).statusCode).toBe(400);
    expect((await counts(w)).tenants).toBe(0);
  });

  it('refuses bad fields with the right code, naming them, and the code still works afterwards', async () => {
    for (const [change, path] of [
      [{ password: 'eleven-char' }, '/password'],
      [{ adminEmail: 'not-an-email' }, '/adminEmail'],
      [{ tenantName: '!!' }, '/tenantName'],
    ] as const) {
      const res = await post(w, form(code, change));
      responses.push(res);
      expect(res.statusCode, res.body).toBe(400);
      expect(errorOf(res).details?.map((d) => d.path)).toEqual([path]);
    }
    expect(await counts(w)).toEqual({ tenants: 0, users: 0, codes: 1 });
  });

  it('creates the tenant and its admin with the right code (spaces and case forgiven) and signs the admin in', async () => {
    const typed = ` ${code.toUpperCase().replace(/(.{8})/g, '$1 ')} `;
    const res = await post(w, form(typed));
    responses.push(res);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      user: { email: 'admin@acme.example', name: 'Ada Admin', role: 'admin', tenant: { name: 'Acme IoT' } },
    });
    const cookie = res.cookies.find((c) => c.name === 'simbind_session');
    expect(cookie?.httpOnly).toBe(true);
    const me = await w.app.inject({
      method: 'GET',
      url: '/api/v1/auth/me',
      headers: { cookie: `simbind_session=${cookie!.value}` },
    });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ user: { email: 'admin@acme.example', tenant: { slug: 'acme-iot' } } });
    // The chosen password signs in; the code is spent.
    const login = await w.app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'admin@acme.example', password: 'acme-admin-password' },
      remoteAddress: freshAddress(),
    });
    expect(login.statusCode).toBe(200);
    expect(await counts(w)).toEqual({ tenants: 1, users: 1, codes: 0 });
  });

  it('is not needed any more: GET says so, a second setup answers 409 and no new code is issued', async () => {
    const state = await w.app.inject({ method: 'GET', url: '/api/v1/setup' });
    expect(state.json()).toEqual({ needed: false });
    const again = await post(w, form(code, { tenantName: 'Evil Corp', adminEmail: 'evil@evil.example' }));
    responses.push(again);
    expect(again.statusCode, again.body).toBe(409);
    expect(errorOf(again).message).toMatch(/already set up/);
    expect(await issueSetupCode(w.database.db)).toBeUndefined();
    expect(await counts(w)).toEqual({ tenants: 1, users: 1, codes: 0 });
  });

  it('never puts the code in a log line or an answer', () => {
    const logs = w.logLines.join('\n');
    expect(w.logLines.length).toBeGreaterThan(10);
    expect(logs).toContain('/api/v1/setup');
    expect(logs).not.toContain(code);
    expect(logs).not.toContain('acme-admin-password');
    for (const res of responses) {
      expect(res.body).not.toContain(code);
      expect(JSON.stringify(res.headers)).not.toContain(code);
    }
  });
});

describe('first-run setup, several at once', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(async () => close(w));

  it('creates exactly one tenant: the others answer 409', async () => {
    // Two processes' codes (e.g. two `api` processes), both valid until the first setup.
    const codes = [(await issueSetupCode(w.database.db))!, (await issueSetupCode(w.database.db))!];
    expect(codes[0]).not.toBe(codes[1]);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        post(w, form(codes[i % 2]!, { tenantName: `Tenant ${i}`, adminEmail: `admin${i}@t${i}.example` })),
      ),
    );
    const statuses = results.map((r) => r.statusCode).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
    expect(await counts(w)).toEqual({ tenants: 1, users: 1, codes: 0 });
  });
});

describe('simbind init (the command-line way)', () => {
  let w: World;
  beforeAll(async () => {
    w = await world();
  });
  afterAll(async () => close(w));

  it('retires the setup codes too: the screen then answers 409', async () => {
    const code = (await issueSetupCode(w.database.db))!;
    const created = await w.services.users.initTenant({
      tenantName: 'Acme IoT',
      adminEmail: 'admin@acme.example',
    });
    expect(created.initialPassword).toMatch(/^[\w-]{20}$/);
    expect(await counts(w)).toEqual({ tenants: 1, users: 1, codes: 0 });
    expect((await post(w, form(code, { tenantName: 'Other' }))).statusCode).toBe(409);
    expect((await w.app.inject({ method: 'GET', url: '/api/v1/setup' })).json()).toEqual({ needed: false });
  });
});
