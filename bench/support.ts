import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, type DatabaseHandle } from '../src/db/database.ts';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import type { Principal } from '../src/services/principal.ts';
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

/** The demo's northwind administrator, as a token principal: who submits and syncs in a benchmark. */
export async function demoAdmin(handle: DatabaseHandle): Promise<Principal> {
  const admin = await handle.db
    .selectFrom('app_user')
    .selectAll()
    .where('email', '=', 'admin@northwind.example')
    .executeTakeFirstOrThrow();
  return {
    userId: admin.id,
    tenantId: admin.tenant_id,
    email: admin.email,
    name: admin.name,
    role: admin.role,
    allCustomers: true,
    customerIds: [],
    via: 'token',
  };
}
