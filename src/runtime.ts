import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from './config.ts';
import { createDatabase, type DatabaseHandle } from './db/database.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded-postgres.ts';
import { migrate } from './db/migrate.ts';
import { installQueues } from './jobs/queue.ts';
import {
  generateSecretKey,
  parseSecretKey,
  secretBoxOf,
  SecretKeyError,
  type SecretBox,
} from './services/secret-box.ts';

/**
 * Getting a database for a process: DATABASE_URL's server, or the embedded PostgreSQL in DATA_DIR
 * (started or adopted), with migrations and the queue schema applied.
 */

export interface DatabaseRuntime {
  url: string;
  database: DatabaseHandle;
  embedded: EmbeddedPostgres | undefined;
  /** Names of migrations applied by this start. */
  applied: string[];
  close(): Promise<void>;
}

const EMBEDDED_DATABASE = 'simbind';

export async function openDatabase(
  config: Config,
  options: { migrate: boolean; applicationName: string; log?: (line: string) => void },
): Promise<DatabaseRuntime> {
  let embedded: EmbeddedPostgres | undefined;
  let url = config.database.url;
  if (!url) {
    embedded = await startEmbeddedPostgres({ ...config.database.embedded, log: options.log });
    url = embedded.urlFor(EMBEDDED_DATABASE);
    await ensureDatabase(embedded.adminUrl, EMBEDDED_DATABASE);
  }

  const database = createDatabase(url, config.database.poolSize, options.applicationName);
  let applied: string[] = [];
  try {
    if (options.migrate) {
      applied = await migrate(database.pool);
      await installQueues(url);
    }
  } catch (error) {
    await database.close();
    await embedded?.stop();
    throw error;
  }

  return {
    url,
    database,
    embedded,
    applied,
    async close() {
      await database.close();
      await embedded?.stop();
    },
  };
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = createDatabase(adminUrl, 1, 'simbind-setup');
  try {
    const { rowCount } = await admin.pool.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await admin.pool.query(`CREATE DATABASE ${name}`);
  } catch (error) {
    // Two processes starting at once: the loser's CREATE fails with duplicate_database (42P04).
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await admin.close();
  }
}

/** SESSION_SECRET, or one generated on first start and kept in the database for the next starts. */
export async function sessionSecret(config: Config, database: DatabaseHandle): Promise<string> {
  if (config.auth.sessionSecret) return config.auth.sessionSecret;
  await database.pool.query(
    "INSERT INTO app_setting (key, value) VALUES ('session_secret', $1) ON CONFLICT (key) DO NOTHING",
    [randomBytes(32).toString('base64url')],
  );
  const { rows } = await database.pool.query<{ value: string }>(
    "SELECT value FROM app_setting WHERE key = 'session_secret'",
  );
  return rows[0]!.value;
}

/**
 * The box for integration secrets: `SECRETS_KEY`; or, with the embedded database only, a key
 * generated on first start into `DATA_DIR/secrets.key` (owner-only), so that `npm start` seals the
 * demo's secrets with nothing to configure. A server database needs `SECRETS_KEY`: several
 * processes on several machines must share it, and a key file beside one of them would not be.
 */
export async function resolveSecretBox(config: Config): Promise<SecretBox> {
  if (config.secrets.key !== undefined) return secretBoxOf(config);
  if (config.database.url) {
    throw new SecretKeyError(
      'SECRETS_KEY is required with DATABASE_URL: it seals the integration secrets at rest. ' +
        'Generate one with `npx simbind secrets keygen` and give the same value to every simbind process.',
    );
  }
  const file = path.join(config.database.embedded.dataDir, 'secrets.key');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(path.dirname(file), { recursive: true });
    // `wx`: two processes starting at once do not overwrite each other's key.
    await writeFile(file, `${generateSecretKey()}\n`, { mode: 0o600, flag: 'wx' }).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    });
    text = await readFile(file, 'utf8');
  }
  return secretBoxOf(config, parseSecretKey(text, file));
}
