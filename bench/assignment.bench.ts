import { loadConfig } from '../src/config.ts';
import { createDatabase, type DatabaseHandle } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { installQueues, startQueue } from '../src/jobs/queue.ts';
import { startWorker } from '../src/jobs/worker.ts';
import { seedDemoData } from '../src/services/seed.service.ts';
import { createServices } from '../src/wiring.ts';
import { benchDatabase, demoAdmin, ms } from './support.ts';

/**
 * A customer assignment of N devices (AMOP path: ownership, change log, history — no external
 * system), end to end: submission (validation + one transaction) → queue → worker chunks → finish.
 * Compared with the bare set-based SQL that writes the same rows in one go, and with one
 * transaction per device (measured on a sample and extrapolated). Prints figures; asserts nothing.
 *
 * BENCH_DEVICES (default 100000), BENCH_DATABASE_URL (a server; default: an embedded PostgreSQL).
 */

const N = Number(process.env.BENCH_DEVICES ?? 100_000);
const PER_DEVICE_SAMPLE = 2000;

export async function benchAssignment(): Promise<void> {
  const { url, cleanup } = await benchDatabase('bench');
  const handle = createDatabase(url, 20, 'simbind-bench');
  try {
    await migrate(handle.pool);
    await installQueues(url);
    // Enough active, unowned devices on one provider: ~43 % of the fleet is on northwind's ThingSpace M2M.
    const seedStarted = performance.now();
    await seedDemoData(handle.db, { devices: Math.ceil((N + PER_DEVICE_SAMPLE) / 0.26) });
    console.log(`seed: ${ms(seedStarted)} ms`);

    const { rows } = await handle.pool.query<{
      iccid: string;
      provider: number;
      customer: number;
      site: number;
    }>(
      `SELECT d.iccid, d.service_provider_id AS provider,
              (SELECT c.id FROM customer c WHERE c.tenant_id = d.tenant_id AND c.kind = 'amop' AND c.active ORDER BY c.id LIMIT 1) AS customer,
              0 AS site
       FROM device d JOIN service_provider sp ON sp.id = d.service_provider_id
       WHERE sp.tenant_id = 1 AND sp.integration = 'thingspace' AND sp.portal_type = 'm2m' AND d.status = 'active' AND NOT d.is_archived
         AND NOT EXISTS (SELECT 1 FROM device_tenant dt WHERE dt.device_id = d.id)
       ORDER BY d.id LIMIT ${N + PER_DEVICE_SAMPLE}`,
    );
    if (rows.length < N + PER_DEVICE_SAMPLE) throw new Error(`only ${rows.length} free devices`);
    const provider = rows[0]!.provider;
    const customer = rows[0]!.customer;
    const mine = rows.slice(0, N).map((r) => r.iccid);
    const sample = rows.slice(N).map((r) => r.iccid);

    const simbindMs = await runSimbind(handle, url, { provider, customer, devices: mine });
    await resetOwnership(handle, mine);
    const bareMs = await runBareSql(handle, { provider, customer, devices: mine });
    const perDeviceMs = await runPerDevice(handle, { provider, customer, devices: sample });

    const perDeviceExtrapolated = (perDeviceMs / sample.length) * N;
    console.log(`devices: ${N.toLocaleString('en')}`);
    console.log(`simbind end to end (submit → worker → finish): ${simbindMs} ms`);
    console.log(`bare set-based SQL writing the same rows:     ${bareMs} ms`);
    console.log(
      `one transaction per device (${sample.length} measured, extrapolated): ${Math.round(perDeviceExtrapolated)} ms`,
    );
    console.log(`ratio simbind / bare SQL:            ${(simbindMs / bareMs).toFixed(2)}× (target ≤ 2×)`);
    console.log(
      `speed-up vs one transaction/device:  ${(perDeviceExtrapolated / simbindMs).toFixed(1)}× (target ≥ 20×)`,
    );
  } finally {
    await handle.close();
    await cleanup();
  }
}

async function runSimbind(
  handle: DatabaseHandle,
  url: string,
  p: { provider: number; customer: number; devices: string[] },
) {
  const config = loadConfig({ LOG_LEVEL: 'silent', CHUNK_SIZE: '2000', WORKER_CONCURRENCY: '2' });
  const queue = await startQueue({ connectionString: url, pollSeconds: 1, supervise: true });
  const services = createServices({ config, database: handle, queue });
  await startWorker(queue, services, config);
  const principal = await demoAdmin(handle);
  const started = performance.now();
  const result = await services.assignments.submit(principal, {
    changeType: 'customer_assignment',
    serviceProviderId: p.provider,
    customerId: p.customer,
    devices: p.devices,
    createRevService: false,
    addCarrierRatePlan: false,
    addCustomerRatePlan: false,
  });
  if ('dryRun' in result) throw new Error('unexpected dry run');
  console.log(`  submit (validate + one transaction): ${ms(started)} ms, ${result.counts.pending} pending`);
  for (;;) {
    const row = await handle.db
      .selectFrom('bulk_change')
      .select('status')
      .where('id', '=', result.id)
      .executeTakeFirstOrThrow();
    if (row.status !== 'NEW' && row.status !== 'PROCESSING') {
      const total = ms(started);
      console.log(`  finished ${row.status}`);
      await queue.stop();
      return total;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function resetOwnership(handle: DatabaseHandle, iccids: string[]) {
  await handle.pool.query(
    `DELETE FROM device_tenant WHERE device_id IN (SELECT id FROM device WHERE iccid = ANY($1))`,
    [iccids],
  );
}

/** The same rows simbind writes for these devices (work orders, ownership, log, history), in 4 statements. */
async function runBareSql(
  handle: DatabaseHandle,
  p: { provider: number; customer: number; devices: string[] },
) {
  const client = await handle.pool.connect();
  const started = performance.now();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ id: number }>(
      `INSERT INTO bulk_change (tenant_id, change_type, service_provider_id, portal_type, customer_id, options, total_count, created_by)
       VALUES (1, 'customer_assignment', $1, 'm2m', $2, '{}', $3, 1) RETURNING id`,
      [p.provider, p.customer, p.devices.length],
    );
    const id = rows[0]!.id;
    await client.query(
      `INSERT INTO bulk_change_device (tenant_id, bulk_change_id, device_id, identifier, iccid, msisdn, status, steps_done, processed_at, request)
       SELECT 1, $1, d.id, d.iccid, d.iccid, d.msisdn, 'PROCESSED', '{ownership}', now(), jsonb_build_object('deviceId', d.id)
       FROM device d WHERE d.tenant_id = 1 AND d.iccid = ANY($2)`,
      [id, p.devices],
    );
    await client.query(
      `INSERT INTO device_tenant (tenant_id, device_id, customer_id, site_id, is_active, is_deleted, modified_by)
       SELECT 1, w.device_id, $2, (SELECT id FROM site WHERE customer_id = $2 AND is_default), true, false, 1
       FROM bulk_change_device w WHERE w.bulk_change_id = $1
       ON CONFLICT (device_id, tenant_id) DO UPDATE SET customer_id = EXCLUDED.customer_id, site_id = EXCLUDED.site_id`,
      [id, p.customer],
    );
    await client.query(
      `INSERT INTO change_log (tenant_id, bulk_change_id, bulk_change_device_id, device_id, description, portal_type, processed_by)
       SELECT 1, $1, w.id, w.device_id, 'AMOP Customer Assignment', 'm2m', 'bench' FROM bulk_change_device w WHERE w.bulk_change_id = $1`,
      [id],
    );
    await client.query(
      `INSERT INTO device_history (tenant_id, device_id, bulk_change_id, change_type, after, changed_by)
       SELECT 1, w.device_id, $1, 'customer_assignment', jsonb_build_object('customerId', $2::bigint), 1
       FROM bulk_change_device w WHERE w.bulk_change_id = $1`,
      [id, p.customer],
    );
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  return ms(started);
}

/** The older system's shape: one transaction per device, row by row. */
async function runPerDevice(
  handle: DatabaseHandle,
  p: { provider: number; customer: number; devices: string[] },
) {
  const client = await handle.pool.connect();
  const started = performance.now();
  try {
    for (const iccid of p.devices) {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: number }>(
        'SELECT id FROM device WHERE tenant_id = 1 AND iccid = $1',
        [iccid],
      );
      const deviceId = rows[0]!.id;
      await client.query(
        `INSERT INTO device_tenant (tenant_id, device_id, customer_id, is_active, is_deleted, modified_by) VALUES (1, $1, $2, true, false, 1)
         ON CONFLICT (device_id, tenant_id) DO UPDATE SET customer_id = EXCLUDED.customer_id`,
        [deviceId, p.customer],
      );
      await client.query(
        `INSERT INTO device_history (tenant_id, device_id, change_type, after, changed_by) VALUES (1, $1, 'customer_assignment', '{}', 1)`,
        [deviceId],
      );
      await client.query('COMMIT');
    }
  } finally {
    client.release();
  }
  return ms(started);
}
