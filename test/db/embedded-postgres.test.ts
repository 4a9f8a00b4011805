import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres.ts';
import { freePort } from '../helpers/ports.ts';

let dataDir: string | undefined;
afterEach(async () => {
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
});

describe('embedded PostgreSQL', () => {
  it('refuses a DATA_DIR made by another major version, saying what to do, and starts nothing', async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'simbind-oldpg-'));
    await fs.mkdir(path.join(dataDir, 'pg'));
    await fs.writeFile(path.join(dataDir, 'pg', 'PG_VERSION'), '12\n');

    await expect(startEmbeddedPostgres({ dataDir, port: await freePort() })).rejects.toThrow(
      /holds a PostgreSQL 12 cluster, but this simbind embeds PostgreSQL 1[0-9]\b.*Move that DATA_DIR aside/,
    );
    expect(await fs.readdir(dataDir)).toEqual(['pg']);
  });
});
