import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SECRETS, DEMO_THINGSPACE_ACCOUNT } from '../../src/db/repositories/seed.repository.ts';
import { createSecretBox, generateSecretKey, parseSecretKey } from '../../src/services/secret-box.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createWorld, type World } from '../helpers/world.ts';

/**
 * Issue 11, item 3: administrators enter their own Rev.io, ThingSpace and Jasper accounts through
 * the API — secrets write-only and sealed — and **test connection** makes one harmless read through
 * the real client against the simulators, answering what the remote said.
 */

interface Account {
  id: number;
  integration: string;
  settings: Record<string, string>;
  secrets: { fields: string[]; setAt: string | null; setBy: { id: number; name: string } | null };
  rateLimit: { requests: number; windowMs: number } | null;
}
interface Test {
  ok: boolean;
  check: string;
  status: number | null;
  message: string;
  remote: string | null;
}

let world: World;
let admin: Record<string, string>;
let operator: Record<string, string>;
let contoso: Record<string, string>;

beforeAll(async () => {
  world = await createWorld({
    devices: 100,
    secretBox: createSecretBox({ current: parseSecretKey(generateSecretKey()) }),
  });
  admin = await authHeaders(world.database.db, 'admin@northwind.example');
  operator = await authHeaders(world.database.db, 'operator@northwind.example');
  contoso = await authHeaders(world.database.db, 'admin@contoso.example');
}, 120_000);
afterAll(async () => {
  await world?.close();
});

const call = (
  method: 'GET' | 'POST' | 'PATCH',
  url: string,
  headers = admin,
  payload?: Record<string, unknown>,
) =>
  world.app.inject(
    payload === undefined
      ? { method, url: `/api/v1${url}`, headers }
      : { method, url: `/api/v1${url}`, headers, payload },
  );
const count = async () =>
  (await world.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM integration_credentials'))
    .rows[0]!.n;

const accounts = () => ({
  revio: {
    integration: 'revio',
    name: 'Our Rev.io',
    baseUrl: world.simUrls.revio,
    settings: { username: 'simbind', clientCode: 'demo' },
    secrets: { ...DEMO_SECRETS.revio },
    rateLimit: { requests: 500, windowMs: 60_000 },
  },
  thingspace: {
    integration: 'thingspace',
    name: 'Our ThingSpace',
    baseUrl: world.simUrls.thingspace,
    settings: { username: 'simbind', accountName: DEMO_THINGSPACE_ACCOUNT },
    secrets: { ...DEMO_SECRETS.thingspace },
  },
  jasper: {
    integration: 'jasper',
    name: 'Our Control Center',
    baseUrl: world.simUrls.jasper,
    settings: { username: 'simbind' },
    secrets: { ...DEMO_SECRETS.jasper },
  },
});

describe('integration accounts', () => {
  const ids: Record<string, number> = {};

  it('are added by an admin; secrets never come back, only when and by whom they were set', async () => {
    for (const [key, body] of Object.entries(accounts())) {
      const res = await call('POST', '/integrations', admin, body);
      expect(res.statusCode, res.body).toBe(201);
      for (const secret of Object.values(body.secrets)) expect(res.body).not.toContain(secret);
      const account = res.json<Account>();
      expect(account.secrets.fields.sort()).toEqual(Object.keys(body.secrets).sort());
      expect(account.secrets.setBy?.name).toBe('Admin (northwind)');
      ids[key] = account.id;
    }
    expect(
      ids.revio && (await call('GET', '/integrations')).json<{ items: Account[] }>().items,
    ).toContainEqual(
      expect.objectContaining({ id: ids.revio, rateLimit: { requests: 500, windowMs: 60_000 } }),
    );
    const stored = await world.database.pool.query<{ t: string }>(
      'SELECT secrets::text AS t FROM integration_credentials WHERE id = ANY($1)',
      [Object.values(ids)],
    );
    for (const row of stored.rows) expect(row.t).toMatch(/"sealed": "aes-256-gcm"/);
  });

  it('pass test connection through the real clients, saying what the remote answered', async () => {
    const revio = (await call('POST', `/integrations/${ids.revio}/test`)).json<Test>();
    expect(revio).toMatchObject({ ok: true, check: 'GET /ServiceTypes', status: 200 });
    expect(revio.message).toMatch(/^signed in; \d+ service types$/);
    const thingspace = (await call('POST', `/integrations/${ids.thingspace}/test`)).json<Test>();
    expect(thingspace).toMatchObject({ ok: true });
    const jasper = (await call('POST', `/integrations/${ids.jasper}/test`)).json<Test>();
    // The probe ICCID may or may not exist in the account: either answer proves the credentials.
    expect(jasper.ok).toBe(true);
    expect([200, 404]).toContain(jasper.status);
  });

  it('fail test connection with the remote’s answer when a secret is wrong, and pass again once fixed', async () => {
    const bad = await call('PATCH', `/integrations/${ids.revio}`, admin, {
      secrets: { password: 'wrong-password', subscriptionKey: DEMO_SECRETS.revio.subscriptionKey },
    });
    expect(bad.statusCode, bad.body).toBe(200);
    const failed = (await call('POST', `/integrations/${ids.revio}/test`)).json<Test>();
    expect(failed).toMatchObject({ ok: false, status: 401 });
    expect(failed.message.length).toBeGreaterThan(5);
    expect(JSON.stringify(failed)).not.toContain('wrong-password');
    await call('PATCH', `/integrations/${ids.revio}`, admin, { secrets: { ...DEMO_SECRETS.revio } });
    expect((await call('POST', `/integrations/${ids.revio}/test`)).json<Test>().ok).toBe(true);
  });

  it('keep the secrets an edit leaves out, and replace those it names', async () => {
    // Only the password: the subscription key stays as stored (a wrong password fails the test…).
    const partial = await call('PATCH', `/integrations/${ids.revio}`, admin, {
      secrets: { password: 'wrong-password' },
    });
    expect(partial.statusCode, partial.body).toBe(200);
    expect((await call('POST', `/integrations/${ids.revio}/test`)).json<Test>()).toMatchObject({ ok: false });
    // …and the right one alone passes again: the key was kept, not dropped.
    await call('PATCH', `/integrations/${ids.revio}`, admin, {
      secrets: { password: DEMO_SECRETS.revio.password },
    });
    expect((await call('POST', `/integrations/${ids.revio}/test`)).json<Test>().ok).toBe(true);
    const unknown = await call('PATCH', `/integrations/${ids.revio}`, admin, { secrets: { apiKey: 'x' } });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json<{ error: { details: { path: string }[] } }>().error.details).toEqual([
      expect.objectContaining({ path: '/secrets/apiKey' }),
    ]);
  });

  it('refuse bad input naming the field, and change nothing', async () => {
    const before = await count();
    const base = accounts().revio;
    for (const [body, status, path] of [
      [{ ...base, name: 'x1', secrets: { password: 'p' } }, 400, '/secrets/subscriptionKey'],
      [{ ...base, name: 'x2', settings: { ...base.settings, color: 'red' } }, 400, '/settings/color'],
      [{ ...base, name: 'x3', baseUrl: 'https://user:pw@rev.example.com' }, 400, '/baseUrl'],
      [{ ...base, name: 'x4', baseUrl: 'ftp://rev.example.com' }, 400, '/baseUrl'],
      [{ ...base, name: 'x5', integration: 'salesforce' }, 400, '/integration'],
      [{ ...base, name: 'x6', rateLimit: { requests: 0, windowMs: 1000 } }, 400, '/rateLimit/requests'],
      [{ ...base }, 409, undefined],
    ] as const) {
      const res = await call('POST', '/integrations', admin, body);
      expect(res.statusCode, res.body).toBe(status);
      if (path) {
        const details = res.json<{ error: { details: { path: string }[] } }>().error.details;
        expect(details.map((d) => d.path)).toContain(path);
      }
    }
    expect(await count()).toBe(before);
  });

  it('are for administrators of their own tenant only', async () => {
    expect((await call('GET', '/integrations', operator)).statusCode).toBe(403);
    expect((await call('POST', `/integrations/${ids.revio}/test`, operator)).statusCode).toBe(403);
    expect((await call('PATCH', `/integrations/${ids.revio}`, contoso, { name: 'Mine' })).statusCode).toBe(
      404,
    );
    expect((await call('POST', `/integrations/${ids.revio}/test`, contoso)).statusCode).toBe(404);
    expect(
      (await call('GET', '/integrations', contoso)).json<{ items: Account[] }>().items.map((a) => a.id),
    ).not.toContain(ids.revio);
  });

  it('give service providers their carrier account', async () => {
    const res = await call('POST', '/service-providers', admin, {
      name: 'Our Jasper M2M',
      credentialsId: ids.jasper,
      portalType: 'm2m',
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ integration: 'jasper', portalType: 'm2m' });
    const providers = (await call('GET', '/service-providers')).json<{ items: { name: string }[] }>().items;
    expect(providers.map((p) => p.name)).toContain('Our Jasper M2M');
    expect(
      (
        await call('POST', '/service-providers', admin, {
          name: 'Billing',
          credentialsId: ids.revio,
          portalType: 'm2m',
        })
      ).statusCode,
    ).toBe(422);
    expect(
      (
        await call('POST', '/service-providers', contoso, {
          name: 'Theirs',
          credentialsId: ids.jasper,
          portalType: 'm2m',
        })
      ).statusCode,
    ).toBe(422);
  });
});
