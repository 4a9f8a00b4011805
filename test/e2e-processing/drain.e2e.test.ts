import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revioSimState } from '../../simulators/revio.simulator.ts';
import { submitSlowRevAssignment } from '../helpers/fleet-world.ts';
import { createWorld, waitForFinish, type World } from '../helpers/world.ts';

/**
 * Graceful drain (issue 14): what `simbind worker` does on SIGTERM — `processing.drain()`, then
 * the queue stops — in one process, step by step. The worker finishes the group of devices in hand
 * (a device is the unit), claims no more, and hands the rest of its chunk back to the queue ahead
 * of chunks not yet begun; another worker finishes it, and nothing is done twice.
 */

let world: World;

beforeAll(async () => {
  world = await createWorld({ devices: 3000, worker: false });
}, 120_000);
afterAll(async () => {
  await world?.close();
});

const q = async <T>(text: string, values: unknown[] = []) =>
  (await world.database.pool.query(text, values)).rows as T[];

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('a worker drained mid-chunk', () => {
  it('finishes the devices in hand, hands the rest back first in line, and another worker finishes it once', async () => {
    // One chunk (the world's CHUNK_SIZE is 100), groups of 32 on the Rev path.
    const { res, devices } = await submitSlowRevAssignment(world, 150);
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json<{ id: number }>().id;
    const counts = async () =>
      (
        await q<{ processed: number; processing: number; pending: number }>(
          `SELECT count(*) FILTER (WHERE status = 'PROCESSED')::int AS processed,
                  count(*) FILTER (WHERE status = 'PROCESSING')::int AS processing,
                  count(*) FILTER (WHERE status = 'PENDING')::int AS pending
           FROM bulk_change_device WHERE bulk_change_id = $1`,
          [id],
        )
      )[0]!;
    const chunkJobs = () =>
      q<{ state: string; priority: number }>(
        `SELECT state, priority FROM pgboss.job
         WHERE name = 'bulk-change.process-chunk' AND (data->>'bulkChangeId')::int = $1 ORDER BY created_on`,
        [id],
      );

    const first = await world.startNamedWorker('drained-worker');
    // Drain while the second group is in flight (the first one is done).
    await until('the first group done', async () => (await counts()).processed >= 32);
    await until('the next group claimed', async () => (await counts()).processing > 0);
    first.services.processing.drain();
    await first.queue.stop(10_000);

    const afterDrain = await counts();
    // The group in hand ran to its end: nothing is left half-done, and the rest was never claimed.
    expect(afterDrain.processing).toBe(0);
    expect(afterDrain.processed % 32).toBe(0);
    expect(afterDrain.processed).toBeGreaterThanOrEqual(64);
    expect(afterDrain.pending).toBe(100 - afterDrain.processed);
    // Its job completed, and the rest of the chunk waits as a new job, ahead of unbegun chunks.
    expect(await chunkJobs()).toEqual([
      { state: 'completed', priority: 0 },
      { state: 'created', priority: 1 },
    ]);

    await world.startNamedWorker('other-worker');
    expect(await waitForFinish(world, id)).toBe('PROCESSED');

    // Each device once: one Rev.io service, one log entry for it, by the worker that made it.
    const services = revioSimState(world.sims.revio).services.filter((s) => devices.includes(s.number2!));
    expect(services).toHaveLength(100);
    expect(new Set(services.map((s) => s.number2)).size).toBe(100);
    const byWorker = await q<{ worker: string; devices: number; entries: number }>(
      `SELECT c.processed_by AS worker, count(DISTINCT c.bulk_change_device_id)::int AS devices, count(*)::int AS entries
       FROM change_log c WHERE c.bulk_change_id = $1 AND c.description = 'Create Rev.io Service: Rev.io API'
       GROUP BY 1 ORDER BY 1`,
      [id],
    );
    expect(byWorker).toEqual([
      { worker: 'drained-worker', devices: afterDrain.processed, entries: afterDrain.processed },
      { worker: 'other-worker', devices: 100 - afterDrain.processed, entries: 100 - afterDrain.processed },
    ]);
  });
});
