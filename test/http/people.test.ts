import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * Issue 11, items 1 and 2: a production start without SQL — `simbind init` on an empty database
 * creates a tenant and its first admin (one-time password, no demo data); the admin changes the
 * password and manages people through the API; a disabled user's sessions and tokens stop at once.
 */

let database: TestDatabase;
let app: TestApp;
const run = promisify(execFile);
const bin = path.resolve(import.meta.dirname, '../../bin/simbind.js');
const ORIGIN = { origin: 'http://localhost:3000', 'sec-fetch-site': 'same-origin' };

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestAppWithServices(database, { PUBLIC_URL: 'http://localhost:3000' });
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

const cli = (args: string[]) =>
  run(process.execPath, [bin, ...args], {
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      LOG_LEVEL: 'silent',
      SECRETS_KEY: 'A'.repeat(43) + '=',
    },
    timeout: 60_000,
  });

async function signIn(email: string, password: string) {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
  expect(res.statusCode, res.body).toBe(200);
  const cookie = res.cookies.find((c) => c.name === 'simbind_session')!;
  return { cookie: `${cookie.name}=${cookie.value}`, ...ORIGIN };
}
const call = (
  method: 'GET' | 'POST' | 'PATCH',
  url: string,
  headers: Record<string, string> = {},
  payload?: Record<string, unknown>,
) =>
  app.inject(
    payload === undefined
      ? { method, url: `/api/v1${url}`, headers }
      : { method, url: `/api/v1${url}`, headers, payload },
  );
const count = async (table: string) =>
  (await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!.n;

describe('a production start, then people', () => {
  let adminPassword: string;
  let admin: Record<string, string>;
  let operatorId: number;
  let operatorPassword: string;

  it('simbind init creates the tenant and its admin, with a one-time password and no demo data', async () => {
    const { stdout } = await cli(['init', '--tenant', 'Acme IoT', '--admin', 'Admin@Acme.example']);
    expect(stdout).toContain('tenant "Acme IoT" (acme-iot) created, no demo data.');
    adminPassword = /one-time password: (\S+)/.exec(stdout)![1]!;
    expect(adminPassword).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(await count('tenant')).toBe(1);
    expect(await count('device')).toBe(0);
    expect(await count('customer')).toBe(0);
    // The one-time password is not kept anywhere but in its hash.
    const { rows } = await database.pool.query<{ t: string }>(
      'SELECT row_to_json(u)::text AS t FROM app_user u',
    );
    expect(rows[0]!.t).not.toContain(adminPassword);
  });

  it('refuses a second init for the same tenant or e-mail, changing nothing', async () => {
    const refusals = [
      [
        ['init', '--tenant', 'Acme IoT', '--admin', 'other@acme.example'],
        'A tenant "acme-iot" already exists.',
      ],
      [['init', '--tenant', 'Other', '--admin', 'admin@acme.example'], 'already exists'],
      [['init', '--tenant', 'Other'], 'init needs --tenant NAME and --admin EMAIL'],
    ] as const;
    await Promise.all(
      refusals.map(([args, message]) =>
        expect(cli([...args]), args.join(' ')).rejects.toMatchObject({
          stderr: expect.stringContaining(message) as unknown,
        }),
      ),
    );
    expect(await count('tenant')).toBe(1);
    expect(await count('app_user')).toBe(1);
  }, 120_000);

  it('lets the admin sign in and change the password: other sessions end, this one stays', async () => {
    const first = await signIn('admin@acme.example', adminPassword);
    admin = await signIn('admin@acme.example', adminPassword);
    const short = await call('POST', '/auth/password', admin, {
      currentPassword: adminPassword,
      newPassword: 'short',
    });
    expect(short.statusCode).toBe(400);
    const wrong = await call('POST', '/auth/password', admin, {
      currentPassword: 'not-it',
      newPassword: 'a-long-new-password',
    });
    expect(wrong.statusCode).toBe(422);
    const changed = await call('POST', '/auth/password', admin, {
      currentPassword: adminPassword,
      newPassword: 'a-long-new-password',
    });
    expect(changed.statusCode, changed.body).toBe(204);
    expect((await call('GET', '/auth/me', admin)).statusCode).toBe(200);
    expect((await call('GET', '/auth/me', first)).statusCode).toBe(401);
    const old = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'admin@acme.example', password: adminPassword },
    });
    expect(old.statusCode).toBe(401);
    await signIn('admin@acme.example', 'a-long-new-password');
  });

  it('creates users with a one-time password; refuses bad input and duplicates, writing nothing', async () => {
    const created = await call('POST', '/users', admin, {
      email: 'ops@acme.example',
      name: 'Olga Ops',
      role: 'operator',
    });
    expect(created.statusCode, created.body).toBe(201);
    const body = created.json<{
      user: { id: number; role: string; customerIds: null };
      initialPassword: string;
    }>();
    expect(body.user).toMatchObject({ role: 'operator', customerIds: null, active: true });
    operatorId = body.user.id;
    operatorPassword = body.initialPassword;

    const before = await count('app_user');
    for (const [payload, status] of [
      [{ email: 'ops@acme.example', name: 'Again', role: 'viewer' }, 409],
      [{ email: 'x@acme.example', name: 'X', role: 'superuser' }, 400],
      [{ email: 'not-an-email', name: 'X', role: 'viewer' }, 400],
      [{ email: 'y@acme.example', name: 'Y', role: 'viewer', customerIds: [999_999] }, 422],
      [{ email: 'z@acme.example', name: 'Z', role: 'viewer', extra: true }, 400],
    ] as const) {
      const res = await call('POST', '/users', admin, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
    }
    expect(await count('app_user')).toBe(before);
    const list = await call('GET', '/users', admin);
    expect(list.json<{ items: { email: string }[] }>().items.map((u) => u.email)).toEqual([
      'admin@acme.example',
      'ops@acme.example',
    ]);
  });

  it('keeps user management to administrators', async () => {
    const operator = await signIn('ops@acme.example', operatorPassword);
    expect((await call('GET', '/users', operator)).statusCode).toBe(403);
    expect((await call('PATCH', `/users/${operatorId}`, operator, { role: 'admin' })).statusCode).toBe(403);
    expect((await call('GET', '/users')).statusCode).toBe(401);
  });

  it('refuses an admin disabling itself or dropping its own admin role', async () => {
    const me = (await call('GET', '/auth/me', admin)).json<{ user: { id: number } }>().user.id;
    expect((await call('PATCH', `/users/${me}`, admin, { active: false })).statusCode).toBe(422);
    expect((await call('PATCH', `/users/${me}`, admin, { role: 'viewer' })).statusCode).toBe(422);
  });

  it('disables a user: its session and its API token stop at once; re-enabled, it signs in again', async () => {
    const operator = await signIn('ops@acme.example', operatorPassword);
    const token = (await call('POST', '/auth/tokens', operator, { name: 'script' })).json<{ token: string }>()
      .token;
    const bearer = { authorization: `Bearer ${token}` };
    expect((await call('GET', '/auth/me', bearer)).statusCode).toBe(200);

    const disabled = await call('PATCH', `/users/${operatorId}`, admin, { active: false });
    expect(disabled.statusCode, disabled.body).toBe(200);
    expect(disabled.json()).toMatchObject({ active: false });
    expect((await call('GET', '/auth/me', operator)).statusCode).toBe(401);
    expect((await call('GET', '/auth/me', bearer)).statusCode).toBe(401);
    const refused = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'ops@acme.example', password: operatorPassword },
    });
    expect(refused.statusCode).toBe(401);

    await call('PATCH', `/users/${operatorId}`, admin, { active: true, role: 'viewer' });
    const again = await signIn('ops@acme.example', operatorPassword);
    expect((await call('GET', '/auth/me', again)).json()).toMatchObject({ user: { role: 'viewer' } });
  });

  it('answers 404 for a user id of another tenant', async () => {
    const { stdout } = await cli(['init', '--tenant', 'Globex', '--admin', 'admin@globex.example']);
    const globex = await signIn('admin@globex.example', /one-time password: (\S+)/.exec(stdout)![1]!);
    expect((await call('PATCH', `/users/${operatorId}`, globex, { name: 'Hijacked' })).statusCode).toBe(404);
    expect((await call('GET', '/users', globex)).json<{ items: unknown[] }>().items).toHaveLength(1);
    expect((await call('POST', `/users/${operatorId}/password-reset`, globex)).statusCode).toBe(404);
  }, 120_000);

  it("resets a user's password: a new one-time password, every session ended, the old one refused", async () => {
    const session = await signIn('ops@acme.example', operatorPassword);
    const res = await call('POST', `/users/${operatorId}/password-reset`, admin);
    expect(res.statusCode, res.body).toBe(200);
    const { initialPassword } = res.json<{ initialPassword: string }>();
    expect(initialPassword).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect((await call('GET', '/auth/me', session)).statusCode).toBe(401);
    const old = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'ops@acme.example', password: operatorPassword },
    });
    expect(old.statusCode).toBe(401);
    operatorPassword = initialPassword;
    await signIn('ops@acme.example', operatorPassword);
    const operator = await signIn('ops@acme.example', operatorPassword);
    expect((await call('POST', `/users/${operatorId}/password-reset`, operator)).statusCode).toBe(403);
  });
});

describe('simbind user (CLI)', () => {
  const password = (stdout: string) => /one-time password: (\S+)/.exec(stdout)![1]!;

  it('adds, lists, disables, enables, and resets the password of a locked-out admin', async () => {
    const added = await cli([
      'user',
      'add',
      '--tenant',
      'acme-iot',
      '--email',
      'Vera@Acme.example',
      '--role',
      'viewer',
    ]);
    expect(added.stdout).toMatch(/^vera@acme\.example added \(viewer, id \d+\)\./);
    const vera = await signIn('vera@acme.example', password(added.stdout));

    const listed = await cli(['user', 'list', '--tenant', 'acme-iot']);
    expect(
      listed.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('\t').slice(1, 4)),
    ).toEqual([
      ['admin@acme.example', 'admin', 'active'],
      ['ops@acme.example', 'viewer', 'active'],
      ['vera@acme.example', 'viewer', 'active'],
    ]);

    const disabled = await cli(['user', 'disable', '--email', 'vera@acme.example']);
    expect(disabled.stdout).toContain('vera@acme.example disabled');
    expect((await call('GET', '/auth/me', vera)).statusCode).toBe(401);
    await cli(['user', 'enable', '--email', 'vera@acme.example']);
    await signIn('vera@acme.example', password(added.stdout));

    // The only admin lost the password: the server's operator gives a new one.
    const admins = await signIn('admin@acme.example', 'a-long-new-password');
    const reset = await cli(['user', 'reset-password', '--email', 'admin@acme.example']);
    expect((await call('GET', '/auth/me', admins)).statusCode).toBe(401);
    const again = await signIn('admin@acme.example', password(reset.stdout));
    expect((await call('GET', '/users', again)).statusCode).toBe(200);
  }, 120_000);

  it('fails with a message, changing nothing, for unknown people, tenants and bad usage', async () => {
    const before = await database.pool.query(
      'SELECT id, email, role, active, password_hash FROM app_user ORDER BY id',
    );
    // Independent refusals: run at once (each is a CLI process start, seconds apiece).
    const refusals = [
      [['user', 'disable', '--email', 'nobody@acme.example'], 'No user has the e-mail nobody@acme.example.'],
      [['user', 'list', '--tenant', 'initech'], 'No tenant "initech".'],
      [
        ['user', 'add', '--tenant', 'acme-iot', '--email', 'x@acme.example', '--role', 'root'],
        '--role admin, operator or viewer',
      ],
      [
        ['user', 'add', '--tenant', 'acme-iot', '--email', 'ops@acme.example', '--role', 'admin'],
        'already exists',
      ],
      [['user', 'promote'], 'user needs one of: list, add, disable, enable, reset-password'],
      [['user', 'reset-password'], 'user reset-password needs --email EMAIL'],
    ] as const;
    await Promise.all(
      refusals.map(([args, message]) =>
        expect(cli([...args]), args.join(' ')).rejects.toMatchObject({
          stderr: expect.stringContaining(message) as unknown,
        }),
      ),
    );
    const after = await database.pool.query(
      'SELECT id, email, role, active, password_hash FROM app_user ORDER BY id',
    );
    expect(after.rows).toEqual(before.rows);
  }, 120_000);
});
