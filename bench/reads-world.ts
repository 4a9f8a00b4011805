import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, type DatabaseHandle } from '../src/db/database.ts';
import { startEmbeddedPostgres } from '../src/db/embedded-postgres.ts';
import { migrate } from '../src/db/migrate.ts';
import { installQueues } from '../src/jobs/queue.ts';
import { seedDemoData } from '../src/services/seed.service.ts';
import { freePort } from '../test/helpers/ports.ts';
import { ms } from './support.ts';

/**
 * The world of issue 13's B5, built set-based: the demo fleet of 1,000,000 devices (ownership and
 * Rev.io lines included), then 200 bulk changes of northwind's ThingSpace M2M devices with their
 * work orders and change-log entries: one of 100,000 devices, 199 of 2,000; finished ones mostly
 * PROCESSED with some ERROR and CANCELLED, the two newest still open (PENDING, PROCESSING).
 *
 * With `keep`, the cluster lives in a fixed directory (or the database stays on BENCH_DATABASE_URL's
 * server) and a complete world found there is used again instead of being rebuilt.
 */

export const FLEET = 1_000_000;
export const CHANGES = 200;
export const LARGE_CHANGE = 100_000;
export const SMALL_CHANGE = 2_000;
const NAME = 'bench_reads';
const KEPT_DIR = path.join(os.tmpdir(), 'simbind-bench-reads-kept');

export interface ReadsWorld {
  handle: DatabaseHandle;
  url: string;
  /** The bulk change of 100,000 devices. */
  largeId: number;
  close: () => Promise<void>;
}

export async function openReadsWorld(keep: boolean): Promise<ReadsWorld> {
  const { url, stop } = await openDatabase(keep);
  const handle = createDatabase(url, 10, 'simbind-bench-reads');
  const close = async () => {
    await handle.close();
    await stop();
  };
  try {
    await migrate(handle.pool);
    await installQueues(url);
    if (!(await isComplete(handle))) {
      const started = performance.now();
      await seedDemoData(handle.db, { devices: FLEET, reset: true });
      console.log(`  fleet of ${FLEET.toLocaleString('en')} devices: ${ms(started)} ms`);
      const changes = performance.now();
      await buildChanges(handle);
      console.log(`  ${CHANGES} bulk changes with work orders and change logs: ${ms(changes)} ms`);
    } else {
      console.log('  world kept from an earlier run (--keep)');
    }
    await writeFinishStats(handle);
    const { rows } = await handle.pool.query<{ id: number }>(
      'SELECT id FROM bulk_change WHERE total_count = $1 ORDER BY id LIMIT 1',
      [LARGE_CHANGE],
    );
    return { handle, url, largeId: Number(rows[0]!.id), close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function isComplete(handle: DatabaseHandle): Promise<boolean> {
  const { rows } = await handle.pool.query<{ devices: string; changes: string }>(
    `SELECT (SELECT count(*) FROM device) AS devices, (SELECT count(*) FROM bulk_change) AS changes`,
  );
  return Number(rows[0]!.devices) === FLEET && Number(rows[0]!.changes) === CHANGES;
}

async function openDatabase(keep: boolean): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = process.env.BENCH_DATABASE_URL;
  if (server) {
    const admin = createDatabase(server, 1);
    const { rowCount } = await admin.pool.query('SELECT 1 FROM pg_database WHERE datname = $1', [NAME]);
    if (!keep || rowCount === 0) {
      await admin.pool.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
      await admin.pool.query(`CREATE DATABASE ${NAME}`);
    }
    await admin.close();
    const url = new URL(server);
    url.pathname = `/${NAME}`;
    const stop = async () => {
      if (keep) return;
      const again = createDatabase(server, 1);
      await again.pool.query(`DROP DATABASE IF EXISTS ${NAME} WITH (FORCE)`);
      await again.close();
    };
    return { url: url.href, stop };
  }
  const dir = keep ? KEPT_DIR : await fs.mkdtemp(path.join(os.tmpdir(), 'simbind-bench-'));
  await fs.mkdir(dir, { recursive: true });
  await fs.chmod(dir, 0o755);
  const pg = await startEmbeddedPostgres({ dataDir: dir, port: await freePort() });
  const admin = createDatabase(pg.adminUrl, 1);
  const { rowCount } = await admin.pool.query('SELECT 1 FROM pg_database WHERE datname = $1', [NAME]);
  if (rowCount === 0) await admin.pool.query(`CREATE DATABASE ${NAME}`);
  await admin.close();
  if (keep) console.log(`  database kept in ${dir}`);
  return {
    url: pg.urlFor(NAME),
    stop: async () => {
      await pg.stop();
      if (!keep) await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** The 200 bulk changes, their work orders and one change-log entry per finished work order. */
async function buildChanges(handle: DatabaseHandle): Promise<void> {
  const client = await handle.pool.connect();
  try {
    await client.query('BEGIN');
    // A world written in one go whose references are right by construction: no per-row FK checks.
    await client.query('SET LOCAL session_replication_role = replica');
    // Change g (1…200) is g days old; change 100 is the large one; 199 and 200 are still open.
    await client.query(
      `CREATE TEMP TABLE plan ON COMMIT DROP AS
       SELECT g,
              CASE WHEN g = 100 THEN ${LARGE_CHANGE} ELSE ${SMALL_CHANGE} END AS size,
              CASE WHEN g = 100 THEN 0 ELSE ${LARGE_CHANGE} + (g * ${SMALL_CHANGE}) % 300000 END AS first_rn,
              g >= ${CHANGES - 1} AS open
       FROM generate_series(1, ${CHANGES}) AS g`,
    );
    await client.query(
      `CREATE TEMP TABLE free_device ON COMMIT DROP AS
       SELECT row_number() OVER (ORDER BY d.id) AS rn, d.id, d.iccid, d.msisdn, d.service_provider_id
       FROM device d JOIN service_provider sp ON sp.id = d.service_provider_id
       WHERE sp.tenant_id = 1 AND sp.integration = 'thingspace' AND sp.portal_type = 'm2m'`,
    );
    await client.query('CREATE UNIQUE INDEX ON free_device (rn)');
    await client.query(
      `WITH admin AS (SELECT id FROM app_user WHERE email = 'admin@northwind.example'),
            provider AS (SELECT service_provider_id AS id FROM free_device WHERE rn = 1),
            customers AS (SELECT id, row_number() OVER (ORDER BY id) AS k, count(*) OVER () AS n
                          FROM customer WHERE tenant_id = 1 AND kind = 'amop' AND active)
       INSERT INTO bulk_change (tenant_id, change_type, service_provider_id, portal_type, customer_id, status,
                                options, total_count, created_by, source, created_at, started_at, completed_at)
       SELECT 1, 'customer_assignment', provider.id, 'm2m', c.id,
              CASE WHEN p.open THEN 'PROCESSING' WHEN p.g % 3 = 0 THEN 'PROCESSED' ELSE 'PROCESSED_WITH_ERRORS' END,
              jsonb_build_object('changeType', 'customer_assignment', 'serviceProviderId', provider.id,
                                 'customerId', c.id, 'createRevService', false, 'addCarrierRatePlan', false,
                                 'addCustomerRatePlan', false),
              p.size, admin.id, 'api',
              now() - make_interval(days => ${CHANGES} - p.g), now() - make_interval(days => ${CHANGES} - p.g),
              CASE WHEN NOT p.open THEN now() - make_interval(days => ${CHANGES} - p.g, mins => -5) END
       FROM plan p CROSS JOIN admin CROSS JOIN provider
       JOIN customers c ON c.k = 1 + p.g % c.n
       ORDER BY p.g`,
    );
    // now() is the transaction's: each change's creation instant names its g.
    await client.query(
      `ALTER TABLE plan ADD COLUMN bulk_change_id bigint;
       UPDATE plan SET bulk_change_id = b.id
       FROM bulk_change b WHERE b.created_at = now() - make_interval(days => ${CHANGES} - plan.g)`,
    );
    // Status from a hash of (change, device): finished changes 90 % PROCESSED, 8 % ERROR, 2 %
    // CANCELLED (none ERROR when g % 3 = 0); open ones 40 % PENDING, 10 % PROCESSING.
    await client.query(
      `INSERT INTO bulk_change_device (tenant_id, bulk_change_id, device_id, identifier, iccid, msisdn, status,
                                       error_category, message, steps_done, chunk, request, created_at,
                                       started_at, processed_at)
       SELECT 1, p.bulk_change_id, d.id, d.iccid, d.iccid, d.msisdn, w.status,
              CASE WHEN w.status = 'ERROR' THEN 'eligibility' END,
              CASE WHEN w.status = 'ERROR' THEN 'Ineligible: device inactive (carrier status suspended).' END,
              CASE WHEN w.status = 'PROCESSED' THEN '{ownership}'::text[] ELSE '{}' END,
              (d.rn - p.first_rn - 1) / 500,
              jsonb_build_object('deviceId', d.id, 'iccid', d.iccid, 'msisdn', d.msisdn),
              b.created_at, b.started_at,
              CASE WHEN w.status IN ('PROCESSED', 'ERROR', 'CANCELLED') THEN b.started_at + interval '1 minute' END
       FROM plan p
       JOIN bulk_change b ON b.id = p.bulk_change_id
       JOIN free_device d ON d.rn BETWEEN p.first_rn + 1 AND p.first_rn + p.size
       CROSS JOIN LATERAL (SELECT ((p.g * 7919 + d.rn * 104729) % 100) AS h) AS x
       CROSS JOIN LATERAL (SELECT CASE
                WHEN p.open AND x.h < 40 THEN 'PENDING'
                WHEN p.open AND x.h < 50 THEN 'PROCESSING'
                WHEN NOT p.open AND x.h >= 98 THEN 'CANCELLED'
                WHEN NOT p.open AND p.g % 3 <> 0 AND x.h >= 90 THEN 'ERROR'
                ELSE 'PROCESSED' END AS status) AS w
       ORDER BY p.g, d.rn`,
    );
    await client.query(
      `INSERT INTO change_log (tenant_id, bulk_change_id, bulk_change_device_id, device_id, description, portal_type,
                               request_text, response_status, has_error, error_text, processed_by, submitted_by,
                               system, processed_at)
       SELECT w.tenant_id, w.bulk_change_id, w.id, w.device_id,
              CASE WHEN w.status = 'ERROR' THEN 'Customer Assignment: Validate Device' ELSE 'AMOP Customer Assignment' END,
              'm2m', w.identifier, w.error_category, w.status = 'ERROR', w.message, 'simbind-worker@bench',
              'admin@northwind.example', NULL, w.processed_at
       FROM bulk_change_device w
       WHERE w.status IN ('PROCESSED', 'ERROR')
       ORDER BY w.id`,
    );
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  await handle.pool.query('VACUUM ANALYZE bulk_change, bulk_change_device, change_log');
}

/** What the finish step writes on a finished change: its counts and duration (lifecycle.repository.ts). */
async function writeFinishStats(handle: DatabaseHandle): Promise<void> {
  await handle.pool.query(
    `WITH c AS (
       SELECT bulk_change_id,
              count(*)::int AS total,
              count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
              count(*) FILTER (WHERE status = 'PROCESSING')::int AS processing,
              count(*) FILTER (WHERE status = 'WAITING_CARRIER')::int AS waiting,
              count(*) FILTER (WHERE status = 'PROCESSED')::int AS processed,
              count(*) FILTER (WHERE status = 'ERROR')::int AS error,
              count(*) FILTER (WHERE status = 'CANCELLED')::int AS cancelled
       FROM bulk_change_device GROUP BY bulk_change_id
     )
     UPDATE bulk_change b
     SET stats = jsonb_build_object('counts', to_jsonb(c) - 'bulk_change_id', 'durationMs', 300000,
                                    'externalCalls', '{}'::jsonb)
     FROM c
     WHERE c.bulk_change_id = b.id AND b.completed_at IS NOT NULL AND b.stats IS NULL`,
  );
}
