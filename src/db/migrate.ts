import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { MIGRATIONS_DIR } from '../paths.ts';

/**
 * Plain SQL migrations, numbered `NNNN_name.sql`, forward only. Each runs in its own transaction.
 * A session advisory lock serialises concurrent starters (two `simbind serve` at once, or an api
 * and a worker), so each migration runs exactly once; the later starter finds them applied.
 */

const LOCK_KEY = 7_351_420_001; // arbitrary, constant: "simbind migrations"

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await fs.readdir(dir)).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const sql = await fs.readFile(path.join(dir, file), 'utf8');
      return {
        version: Number.parseInt(file.slice(0, 4), 10),
        name: file.replace(/\.sql$/, ''),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    }),
  );
}

const CREATE_LEDGER = `
  CREATE TABLE IF NOT EXISTS schema_migration (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
  )`;

/** Applies pending migrations; returns the names applied now. */
export async function migrate(pool: pg.Pool, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(dir);
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(CREATE_LEDGER);
    const { rows } = await client.query<{ version: number; checksum: string; name: string }>(
      'SELECT version, checksum, name FROM schema_migration',
    );
    const done = new Map(rows.map((r) => [r.version, r]));
    for (const migration of migrations) {
      const previous = done.get(migration.version);
      if (previous) {
        if (previous.checksum !== migration.checksum) {
          throw new Error(
            `migration ${migration.name} was changed after it was applied; add a new migration instead`,
          );
        }
        continue;
      }
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migration (version, name, checksum) VALUES ($1, $2, $3)', [
          migration.version,
          migration.name,
          migration.checksum,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(migration.name);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
  return applied;
}

/** For /readyz: are all migrations on disk applied? */
export async function pendingMigrations(pool: pg.Pool, dir = MIGRATIONS_DIR): Promise<string[]> {
  return (await migrationState(pool, dir)).pending;
}

/**
 * The database's schema against this code's: `pending`, migrations on disk not applied (the code
 * is newer: run `simbind migrate`); `unknown`, migrations applied that this code does not have (the
 * schema is newer: a later version migrated it, and this one may not understand it).
 */
export async function migrationState(
  pool: pg.Pool,
  dir = MIGRATIONS_DIR,
): Promise<{ pending: string[]; unknown: string[] }> {
  const migrations = await readMigrations(dir);
  const { rows } = await pool
    .query<{ version: number; name: string }>('SELECT version, name FROM schema_migration ORDER BY version')
    .catch(() => ({ rows: [] as { version: number; name: string }[] }));
  const done = new Set(rows.map((r) => r.version));
  const known = new Set(migrations.map((m) => m.version));
  return {
    pending: migrations.filter((m) => !done.has(m.version)).map((m) => m.name),
    unknown: rows.filter((r) => !known.has(r.version)).map((r) => r.name),
  };
}
