import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, pendingMigrations, readMigrations } from '../../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

describe('migrations', () => {
  it('leave nothing pending on the template clone and create every domain table', async () => {
    expect(await pendingMigrations(database.pool)).toEqual([]);
    const { rows } = await database.pool.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    );
    const tables = rows.map((r) => r.table_name);
    for (const table of [
      'tenant',
      'app_user',
      'api_token',
      'service_provider',
      'integration_credentials',
      'device',
      'device_tenant',
      'customer',
      'site',
      'carrier_rate_plan',
      'customer_rate_plan',
      'customer_rate_pool',
      'rev_service',
      'rev_service_product',
      'bulk_change',
      'bulk_change_device',
      'change_log',
      'device_history',
      'scheduled_rate_plan_change',
      'webhook_endpoint',
      'notification_delivery',
      'catalogue_fetch',
      'catalogue_entry',
    ]) {
      expect(tables).toContain(table);
    }
  });

  it('are applied once even when several processes start at the same moment', async () => {
    const fresh = await createEmptyDatabase();
    try {
      const results = await Promise.all([migrate(fresh.pool), migrate(fresh.pool), migrate(fresh.pool)]);
      const all = results.flat();
      const names = (await readMigrations()).map((m) => m.name);
      // Every migration was applied by exactly one of the three runners.
      expect(all.sort()).toEqual(names.sort());
      const { rows } = await fresh.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM schema_migration',
      );
      expect(rows[0]!.n).toBe(names.length);
    } finally {
      await fresh.drop();
    }
  });

  it('refuse to continue when an applied migration was edited', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'simbind-migrations-'));
    const fresh = await createEmptyDatabase();
    try {
      await fs.writeFile(path.join(dir, '0001_first.sql'), 'CREATE TABLE a (id int);');
      expect(await migrate(fresh.pool, dir)).toEqual(['0001_first']);
      await fs.writeFile(path.join(dir, '0001_first.sql'), 'CREATE TABLE a (id bigint);');
      await expect(migrate(fresh.pool, dir)).rejects.toThrow(/was changed after it was applied/);
    } finally {
      await fresh.drop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('roll back a failing migration entirely', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'simbind-migrations-'));
    const fresh = await createEmptyDatabase();
    try {
      await fs.writeFile(
        path.join(dir, '0001_bad.sql'),
        'CREATE TABLE b (id int); SELECT no_such_function();',
      );
      await expect(migrate(fresh.pool, dir)).rejects.toThrow(/0001_bad failed/);
      const { rows } = await fresh.pool.query<{ t: string | null }>("SELECT to_regclass('public.b') AS t");
      expect(rows[0]!.t).toBeNull();
    } finally {
      await fresh.drop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

/** A database with nothing in it: the template clone already has the schema. */
async function createEmptyDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase(4);
  await db.pool.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public; DROP SCHEMA pgboss CASCADE');
  return db;
}
