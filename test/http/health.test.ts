import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TypedApp } from '../../src/http/app.ts';
import { buildTestApp } from '../helpers/app.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
let app: TypedApp;

beforeAll(async () => {
  database = await createTestDatabase();
  app = await buildTestApp(database);
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

describe('health routes', () => {
  it('/healthz answers 200 while the process is up', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz answers 200 when the database is reachable and migrations are current', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ready: true, database: 'ok', migrations: 'current' });
  });

  it('/readyz answers 503 and names the migration when one is not applied', async () => {
    const { rows } = await database.pool.query<{ version: number; name: string; checksum: string }>(
      'DELETE FROM schema_migration WHERE version = 1 RETURNING version, name, checksum',
    );
    try {
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ ready: false, migrations: 'pending', pending: ['0001_domain'] });
    } finally {
      const row = rows[0]!;
      await database.pool.query(
        'INSERT INTO schema_migration (version, name, checksum) VALUES ($1, $2, $3)',
        [row.version, row.name, row.checksum],
      );
    }
  });

  it('/metrics speaks the Prometheus text format', async () => {
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.body).toContain('# TYPE simbind_bulk_changes gauge');
  });

  it('unknown routes answer 404 in the error shape', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'not_found', message: 'No route GET /api/v1/nope' } });
  });

  it('serves the OpenAPI document under /docs', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json<{ openapi: string; info: { title: string } }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toBe('simbind API');
  });
});
