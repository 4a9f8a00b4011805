import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import pg from 'pg';
import type { DB } from './schema.ts';

// int8 (ids, counts) as numbers: our ids stay far below 2^53, and strings would leak into every
// comparison. numeric stays a string (exact money and MB values).
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));
// …and int8[] the same way (array_agg of ids); without this a customer id list holds strings and
// `ids.includes(5)` is silently false. OID 1016 = _int8; reuse the int4[] parser (1007).
const parseIntArray = pg.types.getTypeParser(1007 as never) as (value: string) => number[];
pg.types.setTypeParser(1016 as never, parseIntArray);
// `date` as the plain 'YYYY-MM-DD' string: a JS Date would shift it by the server's time zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);

export type Database = Kysely<DB>;
/** Repositories take either: a service decides whether a write joins a transaction. */
export type Executor = Kysely<DB> | Transaction<DB>;

export interface DatabaseHandle {
  db: Database;
  pool: pg.Pool;
  close(): Promise<void>;
}

export function createDatabase(
  connectionString: string,
  poolSize = 10,
  applicationName = 'simbind',
): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    application_name: applicationName,
    // A lost connection is reported to the caller; idle errors must not crash the process.
    idleTimeoutMillis: 30_000,
  });
  pool.on('error', () => undefined);
  // …and so must a lost connection of a client checked out between two statements (a transaction
  // waiting on other work): pg-pool drops its own listener at checkout, so the error had none and a
  // worker died 6.6 s into a database restart. The next statement on that client fails instead.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    pool,
    async close() {
      // Kysely ends the pool only if it ever used it; raw pool users (migrations) need the explicit end.
      await db.destroy();
      if (!pool.ended) await pool.end();
    },
  };
}
