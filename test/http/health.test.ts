import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TypedApp } from '../../src/http/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createDatabase } from '../../src/db/database.ts';
import { buildApp } from '../../src/http/app.ts';
import { startQueue } from '../../src/jobs/queue.ts';
import { createServices } from '../../src/wiring.ts';
import { buildTestApp } from '../helpers/app.ts';
import { freePort } from '../helpers/ports.ts';
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

  it('/readyz answers 503 "migrations behind" while the newest migration is not applied', async () => {
    const { rows } = await database.pool.query<{ version: number; name: string; checksum: string }>(
      `DELETE FROM schema_migration WHERE version = (SELECT max(version) FROM schema_migration)
       RETURNING version, name, checksum`,
    );
    const row = rows[0]!;
    try {
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({
        ready: false,
        database: 'ok',
        migrations: 'pending',
        pending: [row.name],
        reason: `migrations behind: ${row.name} not applied (run simbind migrate)`,
      });
    } finally {
      await database.pool.query(
        'INSERT INTO schema_migration (version, name, checksum) VALUES ($1, $2, $3)',
        [row.version, row.name, row.checksum],
      );
    }
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it('/readyz answers 503 "migrations ahead" when the database has one this code does not know', async () => {
    await database.pool.query(
      "INSERT INTO schema_migration (version, name, checksum) VALUES (9999, '9999_from_the_future', 'x')",
    );
    try {
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({
        ready: false,
        database: 'ok',
        migrations: 'ahead',
        unknown: ['9999_from_the_future'],
        reason: 'migrations ahead: 9999_from_the_future applied by a newer simbind, unknown to this one',
      });
    } finally {
      await database.pool.query('DELETE FROM schema_migration WHERE version = 9999');
    }
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
  });

  it('/readyz answers 503 "database unreachable" without saying where it is', async () => {
    // A server that refuses connections: nothing listens on that loopback port.
    const port = await freePort();
    const url = `postgres://simbind:not-the-password@127.0.0.1:${port}/simbind`;
    const unreachable = createDatabase(url, 1);
    const queue = await startQueue({ connectionString: database.url, pollSeconds: 1, supervise: false });
    const services = createServices({
      config: loadConfig({ LOG_LEVEL: 'silent' }),
      database: unreachable,
      queue,
    });
    const down = await buildApp({
      services,
      cookieSecret: 'test-cookie-secret-0123456789abcdef',
      logLevel: 'silent',
    });
    try {
      const res = await down.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({
        ready: false,
        database: 'unreachable',
        migrations: 'unknown',
        reason: 'database unreachable',
      });
      expect(res.body).not.toContain(String(port));
      // Liveness is not readiness: the process is up.
      expect((await down.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      // /metrics still answers with the process's own figures, and says the database was not read.
      const metrics = await down.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.statusCode).toBe(200);
      expect(metrics.body).toContain('simbind_scrape_database_ok 0');
    } finally {
      await down.close();
      await queue.stop();
      await unreachable.close();
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
