import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TypedApp } from '../../src/http/app.ts';
import { hashPassword } from '../../src/services/passwords.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestApp } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
let app: TypedApp;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 50 });
  app = await buildTestApp(database);
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

const ADMIN = { email: 'admin@northwind.example', password: 'admin-demo' };
const OPERATOR = { email: 'operator@northwind.example', password: 'operator-demo' };
const VIEWER = { email: 'viewer@northwind.example', password: 'viewer-demo' };

// Each login comes from its own client address unless a test says otherwise, so the per-address
// limit of one test never leaks into another.
let addresses = 0;
const freshAddress = () => `10.1.${Math.floor(++addresses / 250)}.${addresses % 250}`;

function login(body: { email: string; password: string }, remoteAddress = freshAddress()) {
  return app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: body, remoteAddress });
}

function sessionCookieOf(res: LightMyRequestResponse): string {
  const cookie = res.cookies.find((c) => c.name === 'simbind_session');
  if (!cookie) throw new Error(`no session cookie in ${JSON.stringify(res.headers['set-cookie'])}`);
  return cookie.value;
}

function me(headers: Record<string, string>) {
  return app.inject({ method: 'GET', url: '/api/v1/auth/me', headers });
}

// A browser sends Origin with every state change; one made with the cookie needs it (csrf.ts).
const withCookie = (value: string) => ({ cookie: `simbind_session=${value}`, origin: 'http://localhost' });
const sha256 = (value: string) => createHash('sha256').update(value).digest();

async function signIn(user: { email: string; password: string }): Promise<string> {
  const res = await login(user);
  expect(res.statusCode).toBe(200);
  return sessionCookieOf(res);
}

async function newUser(email: string, password: string, active = true): Promise<number> {
  const { rows } = await database.pool.query<{ id: number }>(
    `INSERT INTO app_user (tenant_id, email, name, role, password_hash, active)
     SELECT id, $1, 'Test User', 'operator', $2, $3 FROM tenant WHERE slug = 'northwind' RETURNING id`,
    [email, await hashPassword(password), active],
  );
  return rows[0]!.id;
}

describe('sign-in with a session cookie', () => {
  it('signs in, sets a signed HttpOnly cookie, and /auth/me answers with it', async () => {
    const res = await login(ADMIN);
    expect(res.statusCode).toBe(200);
    const body = res.json<{ user: Record<string, unknown> }>();
    expect(body).toEqual({
      user: {
        id: expect.any(Number) as number,
        email: ADMIN.email,
        name: expect.any(String) as string,
        role: 'admin',
        tenant: { id: expect.any(Number) as number, slug: 'northwind', name: expect.any(String) as string },
        allCustomers: true,
      },
    });

    const header = String(res.headers['set-cookie']);
    expect(header).toMatch(/^simbind_session=[^;]+;/);
    expect(header).toContain('HttpOnly');
    expect(header).toContain('SameSite=Lax');
    expect(header).toContain('Path=/');
    expect(header).toContain('Max-Age=43200');
    expect(header).not.toContain('Secure'); // plain http here

    const cookie = sessionCookieOf(res);
    const unsigned = app.unsignCookie(cookie);
    expect(unsigned.valid).toBe(true);
    expect(unsigned.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const { rows } = await database.pool.query('SELECT 1 FROM user_session WHERE id_hash = $1', [
      sha256(unsigned.value!),
    ]);
    expect(rows).toHaveLength(1);

    const current = await me(withCookie(cookie));
    expect(current.statusCode).toBe(200);
    expect(current.json()).toEqual(body);
  });

  it('matches the e-mail case-insensitively', async () => {
    const res = await login({ email: '  Admin@NorthWind.EXAMPLE ', password: ADMIN.password });
    expect(res.statusCode).toBe(200);
    expect(res.json<{ user: { email: string } }>().user.email).toBe(ADMIN.email);
  });

  it('answers a wrong password and an unknown e-mail with the same 401', async () => {
    const wrong = await login({ email: ADMIN.email, password: 'not-the-password' });
    const unknown = await login({ email: 'nobody@northwind.example', password: ADMIN.password });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.body).toBe(unknown.body);
    expect(wrong.json()).toEqual({
      error: { code: 'unauthenticated', message: 'The e-mail or password is incorrect.' },
    });
    expect(wrong.headers['set-cookie']).toBeUndefined();
  });

  it('refuses a deactivated user with the same 401', async () => {
    await newUser('gone@northwind.example', 'gone-password', false);
    const res = await login({ email: 'gone@northwind.example', password: 'gone-password' });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({
      error: { code: 'unauthenticated', message: 'The e-mail or password is incorrect.' },
    });
  });

  it('answers 400 for a body without a password', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: ADMIN.email },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('invalid_input');
  });

  it('answers 401 on /auth/me with no credentials', async () => {
    const res = await me({});
    expect(res.statusCode).toBe(401);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('unauthenticated');
  });

  it('refuses a tampered, an unsigned and a validly signed but unknown cookie', async () => {
    const cookie = await signIn(ADMIN);
    expect((await me(withCookie(cookie))).statusCode).toBe(200);

    const sessionId = app.unsignCookie(cookie).value!;
    const flipped = `${sessionId[0] === 'A' ? 'B' : 'A'}${sessionId.slice(1)}`;
    const tampered = `${flipped}${cookie.slice(sessionId.length)}`;
    expect((await me(withCookie(tampered))).statusCode).toBe(401);
    expect((await me(withCookie(sessionId))).statusCode).toBe(401);
    const forged = app.signCookie(randomBytes(32).toString('base64url'));
    expect((await me(withCookie(forged))).statusCode).toBe(401);
  });

  it('signs out: the session row is gone, the cookie cleared, and the old cookie no longer works', async () => {
    const cookie = await signIn(ADMIN);
    const idHash = sha256(app.unsignCookie(cookie).value!);

    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: withCookie(cookie) });
    expect(res.statusCode).toBe(204);
    expect(String(res.headers['set-cookie'])).toMatch(
      /^simbind_session=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)/,
    );
    const { rows } = await database.pool.query('SELECT 1 FROM user_session WHERE id_hash = $1', [idHash]);
    expect(rows).toHaveLength(0);
    expect((await me(withCookie(cookie))).statusCode).toBe(401);
  });

  it('rotates the session on sign-in: a new id, and the one the browser brought ends', async () => {
    const before = await signIn(ADMIN);
    // A planted cookie (session fixation) or an earlier session: either way, not kept.
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: ADMIN,
      remoteAddress: freshAddress(),
      headers: withCookie(before),
    });
    expect(res.statusCode).toBe(200);
    const after = sessionCookieOf(res);
    expect(app.unsignCookie(after).value).not.toBe(app.unsignCookie(before).value);
    expect((await me(withCookie(after))).statusCode).toBe(200);
    expect((await me(withCookie(before))).statusCode).toBe(401);
  });

  it('refuses an expired session', async () => {
    const cookie = await signIn(ADMIN);
    expect((await me(withCookie(cookie))).statusCode).toBe(200);
    await database.pool.query(
      "UPDATE user_session SET expires_at = now() - interval '1 second' WHERE id_hash = $1",
      [sha256(app.unsignCookie(cookie).value!)],
    );
    expect((await me(withCookie(cookie))).statusCode).toBe(401);
  });

  it('lets a viewer sign in and read /auth/me', async () => {
    const cookie = await signIn(VIEWER);
    const res = await me(withCookie(cookie));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ user: { email: VIEWER.email, role: 'viewer' } });
  });

  it('shows a limited user as allCustomers: false', async () => {
    const res = await login(OPERATOR);
    expect(res.json()).toMatchObject({ user: { role: 'operator', allCustomers: false } });
  });
});

describe('OpenAPI', () => {
  it('documents the auth routes, sign-in without a security requirement', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    const doc = res.json<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/auth/login',
        '/api/v1/auth/logout',
        '/api/v1/auth/me',
        '/api/v1/auth/tokens',
        '/api/v1/auth/tokens/{id}',
      ]),
    );
    expect(doc.paths['/api/v1/auth/login']?.post?.security).toEqual([]);
  });
});

describe('sign-in rate limiting', () => {
  const attemptsOf = async (key: string) =>
    (await database.pool.query('SELECT 1 FROM login_attempt WHERE key = $1', [key])).rowCount;

  // Security review, issue 18: these two tests encoded a lockout of the e-mail from every address
  // (10 failures from anywhere refused even the right password for 15 minutes). Failures now count
  // per (address, e-mail) and per address, with a doubling wait (login-limits.test.ts).
  it('makes a long run of guesses from one address wait at most 15 minutes, and forgets failures after 15', async () => {
    const email = 'limited@northwind.example';
    await newUser(email, 'right-password');
    const address = '192.0.2.90';
    const key = `pair:${address} ${email}`;
    await database.pool.query('INSERT INTO login_attempt (key) SELECT $1 FROM generate_series(1, 30)', [key]);

    const refused = await login({ email, password: 'wrong' }, address);
    expect(refused.statusCode).toBe(429);
    expect(refused.json<{ error: { code: string } }>().error.code).toBe('rate_limited');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(880);
    expect(retryAfter).toBeLessThanOrEqual(900);
    // The right password too, from this address: it cannot be told from a lucky guess.
    expect(
      (await login({ email: email.toUpperCase(), password: 'right-password' }, address)).statusCode,
    ).toBe(429);
    expect(await attemptsOf(key)).toBe(30); // refusals are not recorded: waiting is always enough

    // Failures that left the window count for nothing: the right password works and clears them.
    await database.pool.query(
      "UPDATE login_attempt SET attempted_at = attempted_at - interval '16 minutes' WHERE key = $1",
      [key],
    );
    expect((await login({ email, password: 'right-password' }, address)).statusCode).toBe(200);
    expect(await attemptsOf(key)).toBe(0);
  });

  it('counts parallel guesses from one address exactly: 20 at once → 5 checked, 15 refused', async () => {
    const email = 'burst@northwind.example';
    await newUser(email, 'right-password');
    const address = '192.0.2.91';
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login({ email, password: `guess-${i}` }, address)),
    );
    const codes = answers.map((a) => a.statusCode).sort();
    expect(codes.filter((c) => c === 401)).toHaveLength(5);
    expect(codes.filter((c) => c === 429)).toHaveLength(15);
  });

  it('refuses attempts from one client address past its 50 free failures, whatever the e-mail', async () => {
    const address = '192.0.2.77';
    // 49 earlier failures recorded directly (50 scrypt checks would take seconds); the 50th is a real
    // request, which also proves the failure is counted under the request's own address.
    await database.pool.query('INSERT INTO login_attempt (key) SELECT $1 FROM generate_series(1, 49)', [
      `ip:${address}`,
    ]);
    expect(
      (await login({ email: 'stranger@northwind.example', password: 'guess' }, address)).statusCode,
    ).toBe(401);
    const recorded = await database.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM login_attempt WHERE key = $1',
      [`ip:${address}`],
    );
    expect(recorded.rows[0]!.n).toBe(50);
    // Past the free 50 the wait doubles per failure from 1 s: five more make it 32 s, so a slow
    // machine cannot let the next attempt through by taking more than a second between the two.
    await database.pool.query('INSERT INTO login_attempt (key) SELECT $1 FROM generate_series(1, 5)', [
      `ip:${address}`,
    ]);

    const refused = await login({ email: 'admin@contoso.example', password: 'admin-demo' }, address);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // The same account from elsewhere is not limited: the limit was the address's.
    expect((await login({ email: 'admin@contoso.example', password: 'admin-demo' })).statusCode).toBe(200);
  });
});

describe('API tokens', () => {
  interface Created {
    id: number;
    name: string;
    token: string;
    prefix: string;
    expiresAt: string | null;
  }

  async function createToken(cookie: string, payload: Record<string, unknown>) {
    return app.inject({ method: 'POST', url: '/api/v1/auth/tokens', headers: withCookie(cookie), payload });
  }

  it('creates a token shown once, usable as Bearer, listed without its secret, revocable', async () => {
    const cookie = await signIn(ADMIN);
    const res = await createToken(cookie, { name: 'ci pipeline' });
    expect(res.statusCode).toBe(201);
    const created = res.json<Created>();
    expect(created).toEqual({
      id: expect.any(Number) as number,
      name: 'ci pipeline',
      token: expect.stringMatching(/^sbt_[A-Za-z0-9_-]{43}$/) as string,
      prefix: created.token.slice(0, 10),
      // API_TOKEN_DAYS (90) when no expiresInDays is given
      expiresAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as string,
    });
    const bearer = { authorization: `Bearer ${created.token}` };

    const current = await me(bearer);
    expect(current.statusCode).toBe(200);
    expect(current.json()).toMatchObject({ user: { email: ADMIN.email, role: 'admin' } });

    const list = await app.inject({ method: 'GET', url: '/api/v1/auth/tokens', headers: bearer });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(created.token);
    const listed = list.json<{ items: Record<string, unknown>[]; nextCursor: string | null }>();
    expect(listed.nextCursor).toBeNull();
    expect(listed.items).toContainEqual({
      id: created.id,
      name: 'ci pipeline',
      prefix: created.prefix,
      createdAt: expect.any(String) as string,
      lastUsedAt: expect.any(String) as string, // used by the /auth/me call above
      expiresAt: created.expiresAt,
    });

    const revoked = await app.inject({
      method: 'DELETE',
      url: `/api/v1/auth/tokens/${created.id}`,
      headers: withCookie(cookie),
    });
    expect(revoked.statusCode).toBe(204);
    expect((await me(bearer)).statusCode).toBe(401);
    const after = await app.inject({
      method: 'GET',
      url: '/api/v1/auth/tokens',
      headers: withCookie(cookie),
    });
    expect(after.json<{ items: { id: number }[] }>().items.map((t) => t.id)).not.toContain(created.id);
  });

  it("answers 404 when another user revokes someone's token, and the token keeps working", async () => {
    const adminCookie = await signIn(ADMIN);
    const created = (await createToken(adminCookie, { name: 'mine' })).json<Created>();

    const operatorCookie = await signIn(OPERATOR);
    const res = await app.inject({
      method: 'DELETE',
      url: `/api/v1/auth/tokens/${created.id}`,
      headers: withCookie(operatorCookie),
    });
    expect(res.statusCode).toBe(404);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('not_found');
    expect((await me({ authorization: `Bearer ${created.token}` })).statusCode).toBe(200);

    const list = await app.inject({
      method: 'GET',
      url: '/api/v1/auth/tokens',
      headers: withCookie(operatorCookie),
    });
    expect(list.json<{ items: { id: number }[] }>().items.map((t) => t.id)).not.toContain(created.id);
  });

  it('sets an expiry with expiresInDays, and an expired token is refused', async () => {
    const cookie = await signIn(ADMIN);
    const created = (await createToken(cookie, { name: 'short-lived', expiresInDays: 7 })).json<Created>();
    const expiresIn = new Date(created.expiresAt!).getTime() - Date.now();
    expect(Math.abs(expiresIn - 7 * 86_400_000)).toBeLessThan(60_000);
    const bearer = { authorization: `Bearer ${created.token}` };
    expect((await me(bearer)).statusCode).toBe(200);

    await database.pool.query("UPDATE api_token SET expires_at = now() - interval '1 second' WHERE id = $1", [
      created.id,
    ]);
    expect((await me(bearer)).statusCode).toBe(401);
  });

  it('refuses to mint a token with a token (403) and validates the body (400)', async () => {
    const cookie = await signIn(ADMIN);
    const created = (await createToken(cookie, { name: 'parent' })).json<Created>();
    const minted = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/tokens',
      headers: { authorization: `Bearer ${created.token}` },
      payload: { name: 'child' },
    });
    expect(minted.statusCode).toBe(403);

    expect((await createToken(cookie, { name: '' })).statusCode).toBe(400);
    expect((await createToken(cookie, { name: 'x', expiresInDays: 0 })).statusCode).toBe(400);
    const anonymous = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/tokens',
      payload: { name: 'x' },
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it('pages the list with limit and cursor, newest first', async () => {
    const cookie = await signIn(VIEWER);
    const ids: number[] = [];
    for (const name of ['one', 'two', 'three'])
      ids.push((await createToken(cookie, { name })).json<Created>().id);

    const first = await app.inject({
      method: 'GET',
      url: '/api/v1/auth/tokens?limit=2',
      headers: withCookie(cookie),
    });
    const page1 = first.json<{ items: { id: number }[]; nextCursor: string | null }>();
    expect(page1.items.map((t) => t.id)).toEqual([ids[2], ids[1]]);
    expect(page1.nextCursor).not.toBeNull();
    const second = await app.inject({
      method: 'GET',
      url: `/api/v1/auth/tokens?limit=2&cursor=${page1.nextCursor}`,
      headers: withCookie(cookie),
    });
    const page2 = second.json<{ items: { id: number }[]; nextCursor: string | null }>();
    expect(page2.items.map((t) => t.id)).toEqual([ids[0]]);
    expect(page2.nextCursor).toBeNull();
  });
});

describe('simbind token (CLI)', () => {
  const run = promisify(execFile);
  const bin = path.resolve(import.meta.dirname, '../../bin/simbind.js');
  const env = () => ({ ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'silent' });

  it('creates a token that authenticates, printed alone on stdout, and revokes it', async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      [bin, 'token', 'create', '--user', ADMIN.email, '--name', 'from the cli'],
      { env: env(), timeout: 60_000 },
    );
    const token = stdout.trim();
    expect(token).toMatch(/^sbt_[A-Za-z0-9_-]{43}$/);
    const res = await me({ authorization: `Bearer ${token}` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ user: { email: ADMIN.email } });

    const id = /API token (\d+)/.exec(stderr)?.[1];
    expect(id).toBeDefined();
    await run(process.execPath, [bin, 'token', 'revoke', '--id', id!], { env: env(), timeout: 60_000 });
    expect((await me({ authorization: `Bearer ${token}` })).statusCode).toBe(401);
  }, 120_000);

  it('fails with a message for an unknown user', async () => {
    const failure = await run(
      process.execPath,
      [bin, 'token', 'create', '--user', 'nobody@nowhere.example'],
      {
        env: env(),
        timeout: 60_000,
      },
    ).then(
      () => undefined,
      (error: { code: number; stderr: string; stdout: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('No active user with the e-mail nobody@nowhere.example');
    expect(failure?.stdout).toBe('');
  }, 120_000);
});
