import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createDatabase, type DatabaseHandle } from '../../src/db/database.ts';
import { withDatabase } from '../global-setup.ts';

export interface TestDatabase extends DatabaseHandle {
  url: string;
  name: string;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** A fresh, migrated database (with pg-boss's schema) cloned from the run's template. */
export async function createTestDatabase(poolSize = 10): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const template = inject('pgTemplate');
  const name = `${template}_${randomBytes(4).toString('hex')}`;
  const admin = createDatabase(adminUrl, 1, 'simbind-test-admin');
  try {
    await admin.pool.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await admin.close();
  }
  const url = withDatabase(adminUrl, name);
  const handle = createDatabase(url, poolSize, 'simbind-test');
  return {
    ...handle,
    url,
    name,
    async drop() {
      await handle.close();
      const again = createDatabase(adminUrl, 1, 'simbind-test-admin');
      try {
        await again.pool.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await again.close();
      }
    },
  };
}
