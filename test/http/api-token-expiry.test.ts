import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TypedApp } from '../../src/http/app.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestApp } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * API tokens expire by default: API_TOKEN_DAYS (90) after creation unless the creator asks for
 * another lifetime, in the API answer, in the stored row and in the CLI's report; 0 turns the
 * default off (tokens without expiresInDays never expire).
 */

const DAY_MS = 86_400_000;
const ADMIN = { email: 'admin@northwind.example', password: 'admin-demo' };

let database: TestDatabase;
const apps: TypedApp[] = [];
let app: TypedApp;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 10 });
  app = await appWith({});
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await database.drop();
});

async function appWith(env: Record<string, string>): Promise<TypedApp> {
  const built = await buildTestApp(database, env);
  apps.push(built);
  return built;
}

let addresses = 0;
async function signIn(target: TypedApp): Promise<string> {
  const res = await target.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: ADMIN,
    remoteAddress: `10.9.0.${++addresses}`,
  });
  expect(res.statusCode).toBe(200);
  return res.cookies.find((c) => c.name === 'simbind_session')!.value;
}

interface Created {
  id: number;
  token: string;
  expiresAt: string | null;
}

async function createToken(target: TypedApp, payload: Record<string, unknown>): Promise<Created> {
  const cookie = await signIn(target);
  const res: LightMyRequestResponse = await target.inject({
    method: 'POST',
    url: '/api/v1/auth/tokens',
    headers: { cookie: `simbind_session=${cookie}`, origin: 'http://localhost' },
    payload,
  });
  expect(res.statusCode).toBe(201);
  return res.json<Created>();
}

async function storedExpiry(id: number): Promise<Date | null> {
  const { rows } = await database.pool.query<{ expires_at: Date | null }>(
    'SELECT expires_at FROM api_token WHERE id = $1',
    [id],
  );
  return rows[0]!.expires_at;
}

/** Within a minute of `days` days from now. */
function expectDaysAhead(value: Date | string | null, days: number): void {
  expect(value).not.toBeNull();
  const ms = new Date(value!).getTime() - Date.now();
  expect(Math.abs(ms - days * DAY_MS)).toBeLessThan(60_000);
}

const me = (target: TypedApp, token: string) =>
  target.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } });

describe('API token lifetime', () => {
  it('is 90 days when the creator gives none, in the answer and in the row', async () => {
    const created = await createToken(app, { name: 'default lifetime' });
    expectDaysAhead(created.expiresAt, 90);
    const stored = await storedExpiry(created.id);
    expect(stored?.toISOString()).toBe(created.expiresAt);
    expect((await me(app, created.token)).statusCode).toBe(200);
  });

  it('is refused with 401 once those days are over', async () => {
    const created = await createToken(app, { name: 'ages' });
    // 90 days later, as far as the database is concerned.
    await database.pool.query(
      "UPDATE api_token SET expires_at = expires_at - interval '90 days' WHERE id = $1",
      [created.id],
    );
    const res = await me(app, created.token);
    expect(res.statusCode).toBe(401);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('unauthenticated');
  });

  it('follows API_TOKEN_DAYS, and an explicit expiresInDays still wins', async () => {
    const weekly = await appWith({ API_TOKEN_DAYS: '7' });
    expectDaysAhead((await createToken(weekly, { name: 'weekly default' })).expiresAt, 7);
    const explicit = await createToken(weekly, { name: 'explicit', expiresInDays: 30 });
    expectDaysAhead(explicit.expiresAt, 30);
    expectDaysAhead(await storedExpiry(explicit.id), 30);
  });

  it('never ends for a token without expiresInDays when API_TOKEN_DAYS is 0', async () => {
    const unlimited = await appWith({ API_TOKEN_DAYS: '0' });
    const created = await createToken(unlimited, { name: 'forever' });
    expect(created.expiresAt).toBeNull();
    expect(await storedExpiry(created.id)).toBeNull();
    expectDaysAhead((await createToken(unlimited, { name: 'bounded', expiresInDays: 5 })).expiresAt, 5);
  });
});

describe('simbind token create (CLI)', () => {
  const run = promisify(execFile);
  const bin = path.resolve(import.meta.dirname, '../../bin/simbind.js');
  const env = (extra: Record<string, string> = {}) => ({
    ...process.env,
    DATABASE_URL: database.url,
    LOG_LEVEL: 'silent',
    ...extra,
  });

  it('prints the bare token on stdout and its expiry on stderr', async () => {
    const { stdout, stderr } = await run(process.execPath, [bin, 'token', 'create', '--user', ADMIN.email], {
      env: env(),
      timeout: 60_000,
    });
    const token = stdout.trim();
    expect(stdout).toBe(`${token}\n`);
    expect(token).toMatch(/^sbt_[A-Za-z0-9_-]{43}$/);
    const id = Number(/API token (\d+)/.exec(stderr)?.[1]);
    const stored = await storedExpiry(id);
    expectDaysAhead(stored, 90);
    expect(stderr).toContain(`expires ${stored!.toISOString()} (in 90 days, API_TOKEN_DAYS)`);
  }, 120_000);

  it('says so when the token never expires', async () => {
    const { stderr } = await run(process.execPath, [bin, 'token', 'create', '--user', ADMIN.email], {
      env: env({ API_TOKEN_DAYS: '0' }),
      timeout: 60_000,
    });
    expect(stderr).toContain('never expires (API_TOKEN_DAYS=0)');
  }, 120_000);
});
