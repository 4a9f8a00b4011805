import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import type { TypedApp } from '../../src/http/app.ts';
import { hashPassword } from '../../src/services/passwords.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestApp } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * Security review, issue 18 item 6. Behind a proxy (TRUST_PROXY) each client is counted under its
 * own address and the session cookie is Secure when the client came over https. Failed sign-ins
 * slow an attacker down per (address, e-mail) and per address, with a wait that doubles; they never
 * lock the account from everywhere: its owner, from another address, still signs in.
 */

let database: TestDatabase;
/** Behind a proxy on loopback (inject's default remote address is 127.0.0.1). */
let proxied: TypedApp;
/** TRUST_PROXY unset: X-Forwarded-* headers mean nothing. */
let direct: TypedApp;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 0 });
  proxied = await buildTestApp(database, { TRUST_PROXY: '127.0.0.1' });
  direct = await buildTestApp(database);
});
afterAll(async () => {
  await proxied.close();
  await direct.close();
  await database.drop();
});

const attemptsOf = async (key: string) =>
  Number(
    (
      await database.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM login_attempt WHERE key = $1',
        [key],
      )
    ).rows[0]!.n,
  );

async function newUser(email: string, password: string): Promise<void> {
  await database.pool.query(
    `INSERT INTO app_user (tenant_id, email, name, role, password_hash)
     SELECT id, $1, 'Test User', 'operator', $2 FROM tenant WHERE slug = 'northwind'`,
    [email, await hashPassword(password)],
  );
}

function login(
  app: TypedApp,
  body: { email: string; password: string },
  request: { remoteAddress?: string; headers?: Record<string, string> } = {},
): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: body, ...request });
}

const setCookie = (res: LightMyRequestResponse) => String(res.headers['set-cookie']);

describe('behind a trusted proxy (TRUST_PROXY)', () => {
  it("counts each client under its own address from X-Forwarded-For, not the proxy's", async () => {
    const email = 'proxied@northwind.example';
    await newUser(email, 'right-password');
    // The client's own (spoofable) X-Forwarded-For entry comes first; the proxy appends the address
    // it saw. Only that last hop is the proxy's word.
    const first = await login(
      proxied,
      { email, password: 'wrong' },
      { headers: { 'x-forwarded-for': '198.51.100.1, 203.0.113.10' } },
    );
    expect(first.statusCode).toBe(401);
    expect(await attemptsOf('ip:203.0.113.10')).toBe(1);
    expect(await attemptsOf('ip:127.0.0.1')).toBe(0);
    expect(await attemptsOf('ip:198.51.100.1')).toBe(0);

    // 50 failures from 203.0.113.10: that address now waits; a second client behind the same
    // proxy is not affected.
    await database.pool.query('INSERT INTO login_attempt (key) SELECT $1 FROM generate_series(1, 49)', [
      'ip:203.0.113.10',
    ]);
    const refused = await login(
      proxied,
      { email, password: 'right-password' },
      { headers: { 'x-forwarded-for': '203.0.113.10' } },
    );
    expect(refused.statusCode).toBe(429);
    const other = await login(
      proxied,
      { email, password: 'right-password' },
      { headers: { 'x-forwarded-for': '203.0.113.11' } },
    );
    expect(other.statusCode).toBe(200);
  });

  it('sets the session cookie Secure when the client came over https (X-Forwarded-Proto)', async () => {
    const admin = { email: 'admin@northwind.example', password: 'admin-demo' };
    const https = await login(proxied, admin, {
      headers: { 'x-forwarded-for': '203.0.113.20', 'x-forwarded-proto': 'https' },
    });
    expect(https.statusCode).toBe(200);
    expect(setCookie(https)).toMatch(/; Secure/);

    const http = await login(proxied, admin, { headers: { 'x-forwarded-for': '203.0.113.21' } });
    expect(http.statusCode).toBe(200);
    expect(setCookie(http)).not.toMatch(/Secure/);
  });
});

describe('without TRUST_PROXY', () => {
  it('ignores X-Forwarded-For and X-Forwarded-Proto: a client cannot pick its address or a Secure cookie', async () => {
    const res = await login(
      direct,
      { email: 'nobody@northwind.example', password: 'wrong' },
      {
        remoteAddress: '10.20.0.1',
        headers: { 'x-forwarded-for': '203.0.113.99', 'x-forwarded-proto': 'https' },
      },
    );
    expect(res.statusCode).toBe(401);
    expect(await attemptsOf('ip:10.20.0.1')).toBe(1);
    expect(await attemptsOf('ip:203.0.113.99')).toBe(0);

    const ok = await login(
      direct,
      { email: 'admin@northwind.example', password: 'admin-demo' },
      { remoteAddress: '10.20.0.2', headers: { 'x-forwarded-proto': 'https' } },
    );
    expect(ok.statusCode).toBe(200);
    expect(setCookie(ok)).not.toMatch(/Secure/);
  });
});

describe('failed sign-ins slow the guesser, not the owner', () => {
  it("the owner signs in from another address with the right password after an attacker's 10 guesses", async () => {
    const email = 'victim@northwind.example';
    await newUser(email, 'right-password');
    const codes: number[] = [];
    for (let i = 0; i < 10; i += 1) {
      codes.push(
        (await login(direct, { email, password: `guess-${i}` }, { remoteAddress: '192.0.2.50' })).statusCode,
      );
    }
    expect(codes.every((c) => c === 401 || c === 429)).toBe(true);
    expect(codes).toContain(429);

    const owner = await login(direct, { email, password: 'right-password' }, { remoteAddress: '192.0.2.51' });
    expect(owner.statusCode).toBe(200);
  });

  it('after 5 failures of one e-mail from one address, each further try waits, doubling: 1 s, 2 s, 4 s', async () => {
    const email = 'typo@northwind.example';
    await newUser(email, 'right-password');
    const address = '192.0.2.60';
    const attempt = (password: string) => login(direct, { email, password }, { remoteAddress: address });
    // Moves this pair's failures in time so that the latest was `secondsAgo` before now: the test
    // does not depend on how long a password check takes on a busy machine.
    const latestAgo = async (secondsAgo: number) =>
      database.pool.query(
        `UPDATE login_attempt SET attempted_at = attempted_at
           + (now() - $2 * interval '1 second' - (SELECT max(attempted_at) FROM login_attempt WHERE key = $1))
         WHERE key = $1`,
        [`pair:${address} ${email}`, secondsAgo],
      );

    for (let i = 0; i < 5; i += 1) expect((await attempt(`wrong-${i}`)).statusCode).toBe(401);
    for (const [n, delay] of [
      [6, 1],
      [7, 2],
      [8, 4],
    ] as const) {
      await latestAgo(0);
      const early = await attempt(`early-${n}`);
      expect(early.statusCode, `attempt ${n}`).toBe(429);
      expect(early.json<{ error: { code: string } }>().error.code).toBe('rate_limited');
      expect(Number(early.headers['retry-after']), `attempt ${n}`).toBe(delay);
      await latestAgo(delay);
      expect((await attempt(`wrong-${n}`)).statusCode, `attempt ${n}`).toBe(401);
    }
    // Not a lockout: once the wait is over, the right password works and clears the pair's count.
    await latestAgo(0);
    const early = await attempt('right-password');
    expect(early.statusCode).toBe(429);
    expect(Number(early.headers['retry-after'])).toBe(8);
    await latestAgo(8);
    expect((await attempt('right-password')).statusCode).toBe(200);
    expect((await attempt('wrong-again')).statusCode).toBe(401);
  });

  it('counts an IPv6 client by its /64: one host cannot rotate through its own addresses', async () => {
    await login(
      direct,
      { email: 'nobody@northwind.example', password: 'x' },
      { remoteAddress: '2001:db8:1:2::1' },
    );
    await login(
      direct,
      { email: 'nobody@northwind.example', password: 'x' },
      { remoteAddress: '2001:db8:1:2:ffff:ffff:ffff:ffff' },
    );
    expect(await attemptsOf('ip:2001:db8:1:2::/64')).toBe(2);
  });
});

describe('TRUST_PROXY values', () => {
  const trust = (value: string) => loadConfig({ TRUST_PROXY: value }).http.trustProxy;

  it('is off by default and takes true or addresses and CIDRs', () => {
    expect(loadConfig({}).http.trustProxy).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('0')).toBe(false);
    expect(trust('true')).toBe(true);
    expect(trust('10.0.0.0/8, 192.0.2.7 ,loopback,2001:db8::/32')).toEqual([
      '10.0.0.0/8',
      '192.0.2.7',
      'loopback',
      '2001:db8::/32',
    ]);
  });

  it('fails on anything else, naming the variable', () => {
    for (const value of ['proxy.example.com', '10.0.0.0/33', '2', '-1', '10.0.0.1,']) {
      expect(() => trust(value), value).toThrow(ConfigError);
      expect(() => trust(value), value).toThrow(/TRUST_PROXY/);
    }
  });
});
