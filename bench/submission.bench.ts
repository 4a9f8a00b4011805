import { createDatabase, type DatabaseHandle } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { installQueues } from '../src/jobs/queue.ts';
import { seedDemoData } from '../src/services/seed.service.ts';
import {
  quantile,
  round1,
  startBenchServer,
  timedRequest,
  type BenchServer,
  type Phase,
} from './http-support.ts';
import { benchDatabase, ms, recordFigures, type Figure } from './support.ts';

/**
 * Issue 13, B3: submission latency through the real HTTP API (a server in this process, a client
 * over loopback): `POST /bulk-changes` of 10,000 and of 100,000 devices (validation + the one
 * transaction, answered 202), and the dry run of 100,000 (every verdict in the 200 body). Each is
 * run several times on the same free devices; what a real submission wrote is deleted between runs
 * (no worker runs). Prints median and p95 per size; writes B3 (three figures) to results.json.
 *
 * BENCH_SUBMISSION_RUNS (5), BENCH_DATABASE_URL (a server; default: an embedded PostgreSQL).
 */

const LARGE = 100_000;
const SMALL = 10_000;
const RUNS = Number(process.env.BENCH_SUBMISSION_RUNS ?? 5);
const PHASES: Phase[] = ['body', 'schema', 'handler', 'serialize', 'send'];

interface Target {
  provider: number;
  customer: number;
  iccids: string[];
}

export async function benchSubmission(): Promise<void> {
  const { url, cleanup } = await benchDatabase('bench_submission');
  const handle = createDatabase(url, 10, 'simbind-bench-submission');
  let server: BenchServer | undefined;
  try {
    await migrate(handle.pool);
    await installQueues(url);
    const seedStarted = performance.now();
    // ~26 % of the demo fleet is active, free and on northwind's ThingSpace M2M.
    await seedDemoData(handle.db, { devices: Math.ceil(LARGE / 0.25) });
    console.log(`seed: ${ms(seedStarted)} ms`);
    const postgres = await serverVersion(handle);
    const target = await freeDevices(handle, LARGE);
    server = await startBenchServer(handle, url);

    // One small submission first: the route's schemas and the queries' plans are then warm.
    await submitOnce(handle, server, target, 100, false);
    const small = await measure(handle, server, target, SMALL, false);
    const large = await measure(handle, server, target, LARGE, false);
    const dry = await measure(handle, server, target, LARGE, true);

    const figure = (id: string, name: string, values: number[], limit: number): Figure => {
      const value = round1(quantile(values, 0.5));
      return { id, name, value, unit: 'ms', target: `≤ ${limit} ms`, met: value <= limit };
    };
    await recordFigures(postgres, [
      figure('B3', `submission of ${SMALL.toLocaleString('en')} devices over HTTP, median`, small, 300),
      figure('B3', `submission of ${LARGE.toLocaleString('en')} devices over HTTP, median`, large, 2500),
      figure('B3', `dry run of ${LARGE.toLocaleString('en')} devices over HTTP, median`, dry, 2000),
    ]);
  } finally {
    await server?.close();
    await handle.close();
    await cleanup();
  }
}

async function measure(
  handle: DatabaseHandle,
  server: BenchServer,
  target: Target,
  count: number,
  dryRun: boolean,
): Promise<number[]> {
  const times: number[] = [];
  server.phases.clear();
  for (let run = 0; run < RUNS; run++) times.push(await submitOnce(handle, server, target, count, dryRun));
  console.log(
    `  ${dryRun ? 'dry run   ' : 'submission'} ${count.toLocaleString('en').padStart(7)} devices: ` +
      `median ${round1(quantile(times, 0.5))} ms, p95 ${round1(quantile(times, 0.95))} ms ` +
      `(${times.map((t) => Math.round(t)).join(', ')})`,
  );
  const phases = server.phases.get('POST /api/v1/bulk-changes') ?? [];
  const median = (phase: Phase) =>
    Math.round(
      quantile(
        phases.map((p) => p[phase]),
        0.5,
      ),
    );
  console.log(
    `    in the server, medians: ${PHASES.map((phase) => `${phase} ${median(phase)} ms`).join(', ')} ` +
      '(body: read + JSON parse; schema: ajv; handler: validation + write or verdicts)',
  );
  return times;
}

async function submitOnce(
  handle: DatabaseHandle,
  server: BenchServer,
  target: Target,
  count: number,
  dryRun: boolean,
): Promise<number> {
  const body = JSON.stringify({
    changeType: 'customer_assignment',
    serviceProviderId: target.provider,
    customerId: target.customer,
    devices: target.iccids.slice(0, count),
    createRevService: false,
    addCarrierRatePlan: false,
    addCustomerRatePlan: false,
    ...(dryRun ? { dryRun: true } : {}),
  });
  const answer = await timedRequest(`${server.api}/bulk-changes`, {
    method: 'POST',
    headers: { ...server.headers, 'content-type': 'application/json' },
    body,
    expect: dryRun ? 200 : 202,
  });
  const parsed = JSON.parse(answer.body) as { id?: number; counts: { eligible?: number; pending?: number } };
  const accepted = dryRun ? parsed.counts.eligible : parsed.counts.pending;
  if (accepted !== count) throw new Error(`${accepted} of ${count} devices accepted`);
  if (parsed.id !== undefined) await forget(handle, parsed.id);
  return answer.ms;
}

/**
 * Deletes what a submission wrote (its jobs too), so the next run finds the same devices free. The
 * foreign-key triggers are skipped: nothing else refers to these rows, and the product never deletes
 * work orders (rev_service.disconnect_work_order_id has no index: a checked delete of 100,000 work
 * orders scans rev_service once per row, minutes).
 */
async function forget(handle: DatabaseHandle, bulkChangeId: number): Promise<void> {
  const client = await handle.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query('DELETE FROM change_log WHERE bulk_change_id = $1', [bulkChangeId]);
    await client.query('DELETE FROM bulk_change_device WHERE bulk_change_id = $1', [bulkChangeId]);
    await client.query('DELETE FROM bulk_change WHERE id = $1', [bulkChangeId]);
    await client.query("DELETE FROM pgboss.job WHERE data->>'bulkChangeId' = $1", [String(bulkChangeId)]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  await handle.pool.query('VACUUM ANALYZE bulk_change_device, change_log');
}

async function freeDevices(handle: DatabaseHandle, count: number): Promise<Target> {
  const { rows } = await handle.pool.query<{ iccid: string; provider: number; customer: number }>(
    `SELECT d.iccid, d.service_provider_id AS provider,
            (SELECT c.id FROM customer c WHERE c.tenant_id = d.tenant_id AND c.kind = 'amop' AND c.active
             ORDER BY c.id LIMIT 1) AS customer
     FROM device d JOIN service_provider sp ON sp.id = d.service_provider_id
     WHERE sp.tenant_id = 1 AND sp.integration = 'thingspace' AND sp.portal_type = 'm2m' AND d.status = 'active'
       AND NOT d.is_archived AND NOT EXISTS (SELECT 1 FROM device_tenant dt WHERE dt.device_id = d.id)
     ORDER BY d.id LIMIT $1`,
    [count],
  );
  if (rows.length < count) throw new Error(`only ${rows.length} free devices`);
  return { provider: rows[0]!.provider, customer: rows[0]!.customer, iccids: rows.map((r) => r.iccid) };
}

export async function serverVersion(handle: DatabaseHandle): Promise<string> {
  const { rows } = await handle.pool.query<{ v: string }>("SELECT current_setting('server_version') AS v");
  return rows[0]?.v ?? 'unknown';
}
