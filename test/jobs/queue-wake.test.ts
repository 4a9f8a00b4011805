import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startQueue, type JobQueue } from '../../src/jobs/queue.ts';
import { startWorker } from '../../src/jobs/worker.ts';
import { createServices } from '../../src/wiring.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { freeDevices } from '../helpers/fleet.ts';
import { openFleetWorld, type FleetWorld } from '../helpers/fleet-world.ts';
import { waitForFinish } from '../helpers/world.ts';

/**
 * Issue 13, B1: a worker starts a committed job at once, not at its next poll. The worker here
 * polls every 30 s, so without the wake-up (NOTIFY at commit → LISTEN → pg-boss notifyWorker) a
 * submitted change would wait ~30 s for its chunk job and as long again for its finish job.
 */

const POLL_SECONDS = 30;
let fw: FleetWorld;
let worker: JobQueue;
const queueErrors: string[] = [];

beforeAll(async () => {
  fw = await openFleetWorld({ worker: false });
  const { world } = fw;
  worker = await startQueue({
    connectionString: world.database.url,
    pollSeconds: POLL_SECONDS,
    supervise: true,
    onError: (error) => queueErrors.push(error.message),
  });
  const services = createServices({ config: world.config, database: world.database, queue: worker });
  await startWorker(worker, services, world.config);
}, 120_000);
afterAll(async () => {
  await worker?.stop(2000);
  await fw?.world.close();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Submits a small AMOP-path change; ms from the accepted answer to its first device done, and to its end. */
async function timedChange(count: number): Promise<{ firstDoneMs: number; finishedMs: number }> {
  const { world, fleet, admin } = fw;
  const devices = await freeDevices(world.database.pool, fleet.thingspace, count);
  const res = await postAssignment(world.app, admin, {
    serviceProviderId: fleet.thingspace,
    customerId: fleet.amopCustomer.id,
    devices,
  });
  expect(res.statusCode, res.body).toBe(202);
  const accepted = Date.now();
  const id = res.json<{ id: number }>().id;
  // Far below one poll: a worker still waiting for its next poll fails here.
  expect(await waitForFinish(world, id, 10_000)).toBe('PROCESSED');
  const finishedMs = Date.now() - accepted;
  const { rows } = await world.database.pool.query<{ first: number }>(
    `SELECT extract(epoch FROM min(processed_at)) * 1000 AS first FROM bulk_change_device WHERE bulk_change_id = $1`,
    [id],
  );
  return { firstDoneMs: Number(rows[0]!.first) - accepted, finishedMs };
}

describe('a worker polling every 30 s', () => {
  it('starts a submitted change at once and finishes it at once', async () => {
    // Every pg-boss worker has made its first (empty) fetch and now sleeps until its next poll.
    await pause(1000);
    const { firstDoneMs, finishedMs } = await timedChange(20);
    // ~50 ms on an idle machine; the bound leaves room for a busy one and is still far from 30 s.
    expect(firstDoneMs).toBeLessThan(1500);
    expect(finishedMs).toBeLessThan(3000);
  });

  it('re-opens a lost listening connection and is woken again, without crashing', async () => {
    const { pool } = fw.world.database;
    const listeners = () =>
      pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'simbind-queue-wake'`,
      );
    const before = (await listeners()).rows.map((r) => r.pid);
    expect(before).toHaveLength(1);
    await pool.query('SELECT pg_terminate_backend($1)', [before[0]]);

    const deadline = Date.now() + 10_000;
    let after: number[] = [];
    while (Date.now() < deadline) {
      after = (await listeners()).rows.map((r) => r.pid);
      if (after.length === 1 && after[0] !== before[0]) break;
      await pause(100);
    }
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before[0]);
    expect(queueErrors.some((m) => m.startsWith('job wake-up listener:'))).toBe(true);

    await pause(500);
    const { firstDoneMs } = await timedChange(10);
    expect(firstDoneMs).toBeLessThan(1500);
  });
});
