import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createDatabase } from '../src/db/database.ts';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { migrate } from '../src/db/migrate.ts';
import { installQueues } from '../src/jobs/queue.ts';
import { freePort } from './helpers/ports.ts';

/**
 * One PostgreSQL for the whole run (embedded, or TEST_DATABASE_URL's server) and one migrated
 * template database; each test file clones the template (CREATE DATABASE … TEMPLATE, ~100 ms), so
 * files never see each other's rows and no file pays for migrations.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const runId = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const template = `simbind_test_${runId}`;
  let stopServer = async () => {};
  let adminUrl: string;

  const serverUrl = process.env.TEST_DATABASE_URL;
  if (serverUrl) {
    adminUrl = serverUrl;
  } else {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'simbind-test-'));
    await fs.chmod(dataDir, 0o755);
    const embedded = await startEmbeddedPostgres({ dataDir, port: await freePort(), ephemeral: true });
    adminUrl = embedded.adminUrl;
    stopServer = async () => {
      await embedded.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    };
  }

  const admin = createDatabase(adminUrl, 2, 'simbind-test-setup');
  try {
    await admin.pool.query(`CREATE DATABASE ${template}`);
    const templateUrl = withDatabase(adminUrl, template);
    const tpl = createDatabase(templateUrl, 2, 'simbind-test-template');
    await migrate(tpl.pool);
    await installQueues(templateUrl);
    await tpl.close();
    // A template must have no sessions left for CREATE DATABASE … TEMPLATE to work.
    await waitForNoSessions(admin.pool, template);
  } catch (error) {
    await admin.pool.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`).catch(() => undefined);
    await admin.close();
    await stopServer();
    throw error;
  }

  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', template);

  return async () => {
    // Drop the template and every per-file clone of this run (files drop their own; this catches crashes).
    const { rows } = await admin.pool.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1',
      [`${template}%`],
    );
    for (const { datname } of rows) {
      await admin.pool.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    }
    await admin.close();
    await stopServer();
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function waitForNoSessions(pool: import('pg').Pool, database: string): Promise<void> {
  for (let i = 0; i < 40; i += 1) {
    const { rows } = await pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
      [database],
    );
    if (rows[0]?.n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const who = await pool.query(
    'SELECT application_name, state, left(query, 80) AS q FROM pg_stat_activity WHERE datname = $1',
    [database],
  );
  throw new Error(`sessions on ${database} did not end: ${JSON.stringify(who.rows)}`);
}
