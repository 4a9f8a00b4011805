import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revioSimState } from '../../simulators/revio.simulator.ts';
import { submitSlowRevAssignment } from '../helpers/fleet-world.ts';
import { createWorld, waitForFinish, type World } from '../helpers/world.ts';

/**
 * A worker killed at any instant loses nothing and repeats no external side effect: here it is
 * killed (SIGKILL, no cleanup) while Rev.io creates are in flight — some answered and not yet
 * recorded, some sent and not yet answered. Another worker takes the chunk over.
 */

let world: World;
let child: ChildProcess | undefined;

beforeAll(async () => {
  world = await createWorld({ devices: 3000, worker: false });
}, 120_000);
afterAll(async () => {
  child?.kill('SIGKILL');
  await world?.close();
});

describe('a worker killed mid-chunk', () => {
  it('is replaced by another, and every device still ends with exactly one Rev.io service', async () => {
    // Slow creates, so the kill lands while many are in flight.
    const { res, devices } = await submitSlowRevAssignment(world, 400);
    const id = res.json<{ id: number }>().id;

    child = spawn(process.execPath, ['--import', 'tsx', 'test/resilience/fixtures/worker-process.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: world.database.url,
        SIM_URLS: JSON.stringify(world.simUrls),
        PUBLIC_URL: world.config.http.publicUrl!,
        WORKER_CONCURRENCY: '1',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // Kill while some services exist in Rev.io that the worker has not recorded yet (a group's
    // answers are recorded together with their log entries when the group's step commits).
    const recorded = async () => {
      const { rows } = await world.database.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM rev_service rs JOIN bulk_change_device w ON w.id = rs.bulk_change_device_id
         WHERE w.bulk_change_id = $1 AND rs.status = 'created'`,
        [id],
      );
      return rows[0]!.n;
    };
    await untilAsync(async () => {
      const created = revioSimState(world.sims.revio).services.length;
      // Mid-group (groups of 32): the group's answers cannot all be in, so none is recorded yet; the
      // 400 ms latency leaves the kill ample time to land before the group commits.
      return created >= 20 && created % 32 > 0 && created % 32 < 28 && created > (await recorded());
    }, 60_000);
    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
    const createdBeforeKill = revioSimState(world.sims.revio).services.length;
    const recordedBeforeKill = await recorded();
    expect(createdBeforeKill).toBeLessThan(100);
    expect(createdBeforeKill).toBeGreaterThan(recordedBeforeKill);

    // The dead worker's job would come back only after its expiry (5 minutes): the live worker
    // sees its chunk lock released and hands the job back at once.
    const killedAt = Date.now();
    await world.startWorker();
    expect(await waitForFinish(world, id, 60_000)).toBe('PROCESSED');
    console.log(
      `killed worker's chunk finished by another ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`,
    );

    const perIccid = new Map<string, number>();
    for (const s of revioSimState(world.sims.revio).services)
      perIccid.set(s.number2!, (perIccid.get(s.number2!) ?? 0) + 1);
    expect(devices.map((iccid) => perIccid.get(iccid))).toEqual(devices.map(() => 1));
    const { rows } = await world.database.pool.query<{
      n: number;
      distinct_services: number;
      adopted: number;
    }>(
      `SELECT count(*)::int AS n, count(DISTINCT rs.service_id)::int AS distinct_services,
              (SELECT count(*)::int FROM change_log WHERE bulk_change_id = $1 AND description LIKE '%found after%') AS adopted
       FROM rev_service rs JOIN bulk_change_device w ON w.id = rs.bulk_change_device_id
       WHERE w.bulk_change_id = $1 AND rs.status = 'created'`,
      [id],
    );
    expect(rows[0]!.n).toBe(100);
    expect(rows[0]!.distinct_services).toBe(100);
    // the services created before the kill and not recorded were found, not created again
    expect(rows[0]!.adopted).toBeGreaterThanOrEqual(createdBeforeKill - recordedBeforeKill);
    // every service has exactly one "Create Rev.io Service" log entry, created or adopted
    const { rows: logs } = await world.database.pool.query<{ n: number; devices: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT device_id)::int AS devices FROM change_log
       WHERE bulk_change_id = $1 AND description LIKE 'Create Rev.io Service: Rev.io API%' AND NOT has_error`,
      [id],
    );
    expect(logs[0]).toEqual({ n: 100, devices: 100 });
  }, 240_000);
});

async function untilAsync(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
