import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDatabase } from '../src/db/database.ts';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { freePort } from '../test/helpers/ports.ts';

/**
 * A fresh database for one benchmark: a new embedded PostgreSQL, or BENCH_DATABASE_URL's server
 * (then a database `name` is created there, and dropped after).
 */
export async function benchDatabase(name: string): Promise<{ url: string; cleanup: () => Promise<void> }> {
  const server = process.env.BENCH_DATABASE_URL;
  if (server) {
    const admin = createDatabase(server, 1);
    await admin.pool.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.pool.query(`CREATE DATABASE ${name}`);
    await admin.close();
    const url = new URL(server);
    url.pathname = `/${name}`;
    return {
      url: url.href,
      cleanup: async () => {
        const again = createDatabase(server, 1);
        await again.pool.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await again.close();
      },
    };
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'simbind-bench-'));
  await fs.chmod(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: dir, port: await freePort() });
  const admin = createDatabase(pg.adminUrl, 1);
  await admin.pool.query(`CREATE DATABASE ${name}`);
  await admin.close();
  return {
    url: pg.urlFor(name),
    cleanup: async () => {
      await pg.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** Milliseconds since `started` (a `performance.now()`), rounded. */
export function ms(started: number): number {
  return Math.round(performance.now() - started);
}
