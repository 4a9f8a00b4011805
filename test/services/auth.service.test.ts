import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../../src/errors.ts';
import { addressKey, createAuthService, type AuthService } from '../../src/services/auth.service.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
let auth: AuthService;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 50 });
  auth = createAuthService({ db: database.db, config: loadConfig({ SESSION_TTL_HOURS: '2' }) });
});
afterAll(async () => {
  await database.drop();
});

const q = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];
const sha256 = (value: string) => createHash('sha256').update(value).digest();

let addresses = 0;
const signIn = (email: string, password: string, clientAddress = `10.2.0.${++addresses}`) =>
  auth.login({ email, password, clientAddress });

describe('sessions', () => {
  it('stores only the SHA-256 of a 256-bit session id, expiring after SESSION_TTL_HOURS', async () => {
    const signed = await signIn('admin@northwind.example', 'admin-demo');
    expect(signed.sessionId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(signed.maxAgeSeconds).toBe(7200);
    const rows = await q<{ id_hash: Buffer; hours: number }>(
      `SELECT id_hash, extract(epoch FROM expires_at - now()) / 3600 AS hours
       FROM user_session WHERE user_id = $1`,
      [signed.user.id],
    );
    expect(rows.map((r) => r.id_hash.toString('hex'))).toContain(sha256(signed.sessionId).toString('hex'));
    const row = rows.find((r) => r.id_hash.equals(sha256(signed.sessionId)))!;
    expect(Number(row.hours)).toBeCloseTo(2, 1);
    // No column holds the id itself (a bytea prints as hex in a row's text form).
    const raw = await q("SELECT 1 FROM user_session s WHERE s::text LIKE '%' || $1 || '%'", [
      signed.sessionId,
    ]);
    expect(raw).toHaveLength(0);
  });

  it('resolves a session to its principal, customer ids as numbers', async () => {
    const { sessionId, user } = await signIn('operator@northwind.example', 'operator-demo');
    const principal = await auth.authenticateSession(sessionId);
    expect(principal).toMatchObject({
      userId: user.id,
      tenantId: user.tenant.id,
      email: 'operator@northwind.example',
      role: 'operator',
      allCustomers: false,
      via: 'session',
    });
    expect(principal!.customerIds).toHaveLength(8);
    expect(principal!.customerIds.every((id) => typeof id === 'number')).toBe(true);
    const expected = await q<{ customer_id: number }>(
      'SELECT customer_id FROM user_customer_access WHERE user_id = $1 ORDER BY customer_id',
      [user.id],
    );
    expect(principal!.customerIds).toEqual(expected.map((r) => r.customer_id));
  });

  it('answers undefined for a malformed, unknown or expired session, and for a deactivated user', async () => {
    expect(await auth.authenticateSession('short')).toBeUndefined();
    expect(await auth.authenticateSession('A'.repeat(43))).toBeUndefined();

    const expiring = await signIn('viewer@northwind.example', 'viewer-demo');
    await q("UPDATE user_session SET expires_at = now() - interval '1 second' WHERE id_hash = $1", [
      sha256(expiring.sessionId),
    ]);
    expect(await auth.authenticateSession(expiring.sessionId)).toBeUndefined();

    const deactivated = await signIn('viewer@contoso.example', 'viewer-demo');
    expect(await auth.authenticateSession(deactivated.sessionId)).toBeDefined();
    await q('UPDATE app_user SET active = false WHERE id = $1', [deactivated.user.id]);
    try {
      expect(await auth.authenticateSession(deactivated.sessionId)).toBeUndefined();
    } finally {
      await q('UPDATE app_user SET active = true WHERE id = $1', [deactivated.user.id]);
    }
  });

  it('touches last_seen_at at most once a minute', async () => {
    const { sessionId } = await signIn('admin@contoso.example', 'admin-demo');
    const idHash = sha256(sessionId);
    const age = async () =>
      Number(
        (
          await q<{ s: number }>(
            'SELECT extract(epoch FROM now() - last_seen_at) AS s FROM user_session WHERE id_hash = $1',
            [idHash],
          )
        )[0]!.s,
      );

    await q("UPDATE user_session SET last_seen_at = now() - interval '30 seconds' WHERE id_hash = $1", [
      idHash,
    ]);
    await auth.authenticateSession(sessionId);
    expect(await age()).toBeGreaterThan(29); // fresh enough: not written

    await q("UPDATE user_session SET last_seen_at = now() - interval '90 seconds' WHERE id_hash = $1", [
      idHash,
    ]);
    await auth.authenticateSession(sessionId);
    expect(await age()).toBeLessThan(5);
  });

  it('logout deletes the session; login deletes expired sessions of anyone', async () => {
    const a = await signIn('admin@northwind.example', 'admin-demo');
    await auth.logout(a.sessionId);
    expect(await auth.authenticateSession(a.sessionId)).toBeUndefined();
    expect(await q('SELECT 1 FROM user_session WHERE id_hash = $1', [sha256(a.sessionId)])).toHaveLength(0);

    const old = await signIn('operator@contoso.example', 'operator-demo');
    await q("UPDATE user_session SET expires_at = now() - interval '1 hour' WHERE id_hash = $1", [
      sha256(old.sessionId),
    ]);
    await signIn('admin@northwind.example', 'admin-demo');
    expect(await q('SELECT 1 FROM user_session WHERE expires_at <= now()')).toHaveLength(0);
  });
});

describe('failed sign-ins', () => {
  const attempts = async (key: string) =>
    Number(
      (await q<{ n: number }>('SELECT count(*)::int AS n FROM login_attempt WHERE key = $1', [key]))[0]!.n,
    );

  // Failures are counted per (address, e-mail), no longer per e-mail alone (security review, issue 18).
  it("a success clears the e-mail's failures from its address but leaves the address's failures counted", async () => {
    const address = '198.51.100.9';
    const pair = `pair:${address} viewer@northwind.example`;
    for (let i = 0; i < 3; i += 1) {
      await expect(signIn('viewer@northwind.example', 'nope', address)).rejects.toBeInstanceOf(
        UnauthenticatedError,
      );
    }
    expect(await attempts(pair)).toBe(3);
    expect(await attempts(`ip:${address}`)).toBe(3);

    await signIn('viewer@northwind.example', 'viewer-demo', address);
    expect(await attempts(pair)).toBe(0);
    expect(await attempts(`ip:${address}`)).toBe(3); // and not 4: the success took its own record back
  });

  it('a sign-in prunes attempts that left the window', async () => {
    await q(
      "INSERT INTO login_attempt (key, attempted_at) VALUES ('email:old@x.example', now() - interval '16 minutes')",
    );
    await signIn('admin@northwind.example', 'admin-demo');
    expect(await attempts('email:old@x.example')).toBe(0);
  });

  it('an unknown e-mail takes about as long as a wrong password (no timing enumeration)', async () => {
    const time = async (email: string) => {
      const started = process.hrtime.bigint();
      await expect(signIn(email, 'wrong-password')).rejects.toBeInstanceOf(UnauthenticatedError);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      known.push(await time('operator@contoso.example'));
      unknown.push(await time(`nobody-${i}@contoso.example`));
    }
    // scrypt dominates both (tens of ms); without the dummy verification an unknown e-mail takes ~2 ms.
    expect(Math.min(...unknown)).toBeGreaterThan(0.5 * Math.min(...known));
    await signIn('operator@contoso.example', 'operator-demo'); // clears those failures
  });
});

describe('addressKey', () => {
  it('keeps IPv4 (unwrapping IPv4-mapped IPv6) and groups IPv6 by its /64', () => {
    expect(addressKey('192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });
});

describe('API tokens', () => {
  it('issues a token for an e-mail (the CLI path) that authenticates, and revokes it by id', async () => {
    const created = await auth.issueApiToken({ email: 'Admin@Northwind.example', name: 'cli' });
    const principal = await auth.authenticateToken(created.token);
    expect(principal).toMatchObject({ email: 'admin@northwind.example', via: 'token' });
    const stored = await q<{ token_hash: Buffer; token_prefix: string }>(
      'SELECT token_hash, token_prefix FROM api_token WHERE id = $1',
      [created.id],
    );
    expect(stored[0]!.token_hash.equals(sha256(created.token))).toBe(true);
    expect(stored[0]!.token_prefix).toBe(created.prefix);

    await auth.revokeApiTokenById(created.id);
    expect(await auth.authenticateToken(created.token)).toBeUndefined();
    await expect(auth.revokeApiTokenById(999_999)).rejects.toBeInstanceOf(NotFoundError);
    await expect(auth.issueApiToken({ email: 'nobody@x.example', name: 'cli' })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it('resolves a token principal with numeric customer ids and touches last_used_at at most once a minute', async () => {
    const created = await auth.issueApiToken({ email: 'operator@northwind.example', name: 'probe' });
    const principal = await auth.authenticateToken(created.token);
    expect(principal!.customerIds).toHaveLength(8);
    expect(principal!.customerIds.every((id) => typeof id === 'number')).toBe(true);

    const lastUsed = async () =>
      (await q<{ last_used_at: Date }>('SELECT last_used_at FROM api_token WHERE id = $1', [created.id]))[0]!
        .last_used_at;
    const first = await lastUsed();
    expect(first).toBeInstanceOf(Date);
    await auth.authenticateToken(created.token);
    expect((await lastUsed()).getTime()).toBe(first.getTime());
  });

  it('refuses to create a token for a token principal, and revokes only the owner’s tokens', async () => {
    const created = await auth.issueApiToken({ email: 'admin@contoso.example', name: 'owner' });
    const viaToken = (await auth.authenticateToken(created.token))!;
    await expect(auth.createApiToken(viaToken, { name: 'child' })).rejects.toBeInstanceOf(ForbiddenError);

    const other = await auth.authenticateSession(
      (await signIn('viewer@contoso.example', 'viewer-demo')).sessionId,
    );
    await expect(auth.revokeApiToken(other!, created.id)).rejects.toBeInstanceOf(NotFoundError);
    expect(await auth.authenticateToken(created.token)).toBeDefined();
    await auth.revokeApiToken(viaToken, created.id);
    expect(await auth.authenticateToken(created.token)).toBeUndefined();
  });
});
