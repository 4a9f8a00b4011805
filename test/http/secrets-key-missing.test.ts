import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * A server without SECRETS_KEY (`simbind start` refuses to start so; an embedding or a test may
 * not) cannot seal a secret: saving one answers 503 saying why, and writes nothing.
 */

let database: TestDatabase;
let app: TestApp;
let admin: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 0 });
  app = await buildTestAppWithServices(database);
  admin = await authHeaders(database.db, 'admin@northwind.example');
}, 120_000);
afterAll(async () => {
  await app?.close();
  await database?.close();
});

describe('secrets without SECRETS_KEY', () => {
  it('answers 503 naming the missing key when an account with secrets is saved, and writes nothing', async () => {
    const accounts = async () =>
      (await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM integration_credentials'))
        .rows[0]!.n;
    const before = await accounts();
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/integrations',
      headers: admin,
      payload: {
        integration: 'jasper',
        name: 'Unsealable',
        baseUrl: 'http://127.0.0.1:9/rws/api/v1',
        settings: { username: 'ops' },
        secrets: { apiKey: 'never-stored-key' },
      },
    });
    expect(res.statusCode, res.body).toBe(503);
    expect(res.json()).toEqual({
      error: expect.objectContaining({
        code: 'secrets_key_missing',
        message: 'This server has no SECRETS_KEY: secrets cannot be stored.',
      }) as unknown,
    });
    expect(res.body).not.toContain('never-stored-key');
    expect(await accounts()).toBe(before);
  });
});
