import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

/**
 * One figure of issue 13's targets (B1…B6), as `bench/results.json` keeps it: `value` in `unit`,
 * `target` the goal in words (e.g. "≤ 2 ms"), `met` whether this run reached it.
 */
export interface Figure {
  id: string;
  name: string;
  value: number;
  unit: string;
  target: string;
  met: boolean;
}

export const RESULTS_FILE = fileURLToPath(new URL('./results.json', import.meta.url));

/**
 * Merges figures into bench/results.json, `{ machine: { cores, postgres, date }, figures: [...] }`:
 * an entry with the same id is replaced, the others are kept (each bench writes its own ids), and
 * `machine` describes the latest run. `postgres` is the server's version (`SHOW server_version`).
 */
export async function recordFigures(postgres: string, figures: Figure[], file = RESULTS_FILE): Promise<void> {
  let kept: Figure[] = [];
  try {
    const previous = JSON.parse(await fs.readFile(file, 'utf8')) as { figures?: Figure[] };
    kept = previous.figures ?? [];
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const ids = new Set(figures.map((f) => f.id));
  const merged = onePerId([...kept.filter((f) => !ids.has(f.id)), ...figures]).sort((a, b) =>
    a.id.localeCompare(b.id, 'en', { numeric: true }),
  );
  const machine = { cores: os.cpus().length, postgres, date: new Date().toISOString() };
  await fs.writeFile(file, `${JSON.stringify({ machine, figures: merged }, null, 2)}\n`);
  for (const f of figures) {
    console.log(
      `  ${f.id} ${f.name}: ${f.value} ${f.unit} (target ${f.target}) ${f.met ? 'met' : 'NOT met'}`,
    );
  }
}

/**
 * One entry per id, as issue 13's results.json has it: a bench's figures of one id (B1's ratio and
 * speed-up, B5's pages and CSV) become its first, the headline, whose name then carries the others
 * with their values and targets; it is met only when all are. (Each run used to append them all.)
 */
export function onePerId(figures: Figure[]): Figure[] {
  const byId = new Map<string, Figure>();
  for (const f of figures) {
    const first = byId.get(f.id);
    if (!first) {
      byId.set(f.id, { ...f });
      continue;
    }
    const also = `${f.name}: ${f.value} ${f.unit} (target ${f.target}, ${f.met ? 'met' : 'NOT met'})`;
    first.name = `${first.name}; also ${also}`;
    first.met &&= f.met;
  }
  return [...byId.values()];
}

/** Every figure in bench/results.json beside its target: this run's and those kept from earlier runs. */
export async function printFigures(file = RESULTS_FILE): Promise<void> {
  const { machine, figures } = JSON.parse(await fs.readFile(file, 'utf8')) as {
    machine: { cores: number; postgres: string; date: string };
    figures: Figure[];
  };
  console.log(
    `\n## figures (${file}: ${machine.cores} cores, PostgreSQL ${machine.postgres}, ${machine.date})`,
  );
  for (const f of figures) {
    const value = `${f.value} ${f.unit}`.padStart(14);
    console.log(
      `  ${f.id.padEnd(3)} ${f.met ? 'met    ' : 'NOT met'} ${value}  target ${f.target.padEnd(12)} ${f.name}`,
    );
  }
}
