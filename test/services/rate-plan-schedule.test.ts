import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/database.ts';
import { startQueue } from '../../src/jobs/queue.ts';
import { registerRatePlanScheduleTask, utcToday } from '../../src/jobs/rate-plan-schedule.task.ts';
import { InvalidInputError } from '../../src/errors.ts';
import { createRatePlanScheduleService } from '../../src/services/rate-plan-schedule.service.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

// ~16 % of seeded devices are owned: 64,000 devices give > 10,000 owned, i.e. > 10,000 changes due
// the same day (the old system applied the first 100 of a batch).
const DEVICES = 64_000;
const DUE = '2026-06-01';
let database: TestDatabase;
let owned: number;

const q = async <T = Record<string, unknown>>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];
const one = async <T = Record<string, unknown>>(text: string, values: unknown[] = []) =>
  (await q<T>(text, values))[0]!;
const service = () => createRatePlanScheduleService({ db: database.db });

interface Schedule {
  effectiveDate: string;
  /** SQL condition on the ownership row `dt`; every owned device when absent. */
  where?: string;
  /** Index (by id) of the tenant's customer rate plan / pool; absent = not part of the change. */
  plan?: number;
  pool?: number;
  /** The plan's own allocation, a figure, or absent. */
  allocation?: 'plan' | number;
  /** From a bulk change of the device's customer (default), or not. */
  bulkChange?: boolean;
  by?: 'admin' | 'operator';
}

/** Inserts one scheduled change per matching owned device; returns how many. */
async function schedule(s: Schedule): Promise<number> {
  const rows = await q(
    `INSERT INTO scheduled_rate_plan_change (tenant_id, device_id, bulk_change_id, customer_rate_plan_id,
       customer_rate_pool_id, data_allocation_mb, effective_date, portal_type, created_by)
     SELECT dt.tenant_id, dt.device_id, CASE WHEN $1 THEN b.id END, plan.id, pool.id,
            CASE WHEN $4 THEN plan.data_allocation_mb ELSE $5::numeric END, $6::date, sp.portal_type, u.id
     FROM device_tenant dt
     JOIN device d ON d.id = dt.device_id
     JOIN service_provider sp ON sp.id = d.service_provider_id
     JOIN bulk_change b ON b.tenant_id = dt.tenant_id AND b.customer_id = dt.customer_id
     JOIN app_user u ON u.tenant_id = dt.tenant_id AND u.role = $7
     LEFT JOIN LATERAL (SELECT id, data_allocation_mb FROM customer_rate_plan p WHERE p.tenant_id = dt.tenant_id
                        ORDER BY id OFFSET $2 LIMIT 1) plan ON $2::int IS NOT NULL
     LEFT JOIN LATERAL (SELECT id FROM customer_rate_pool p WHERE p.tenant_id = dt.tenant_id
                        ORDER BY id OFFSET $3 LIMIT 1) pool ON $3::int IS NOT NULL
     WHERE NOT dt.is_deleted AND (${s.where ?? 'true'})
     RETURNING id`,
    [
      s.bulkChange ?? true,
      s.plan ?? null,
      s.pool ?? null,
      s.allocation === 'plan',
      typeof s.allocation === 'number' ? s.allocation : null,
      s.effectiveDate,
      s.by ?? 'admin',
    ],
  );
  return rows.length;
}

const count = async (text: string, values: unknown[] = []) =>
  (await one<{ n: number }>(`SELECT count(*)::int AS n FROM ${text}`, values)).n;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: DEVICES });
  // One finished bulk change per (tenant, customer) owning devices: the changes' origin.
  await q(`
    INSERT INTO bulk_change (tenant_id, change_type, service_provider_id, portal_type, customer_id, options,
                             created_by, status)
    SELECT c.tenant_id, 'customer_assignment',
           (SELECT min(id) FROM service_provider sp WHERE sp.tenant_id = c.tenant_id), 'm2m', c.id, '{}',
           (SELECT id FROM app_user u WHERE u.tenant_id = c.tenant_id AND u.role = 'admin'), 'PROCESSED'
    FROM customer c WHERE EXISTS (SELECT 1 FROM device_tenant dt WHERE dt.customer_id = c.id)`);
  await q('CREATE TABLE test_device_tenant_seed AS SELECT * FROM device_tenant');
  owned = await count('device_tenant WHERE NOT is_deleted');
}, 300_000);
afterAll(async () => {
  await database.drop();
});
beforeEach(async () => {
  await q(`
    DELETE FROM change_log; DELETE FROM device_history; DELETE FROM scheduled_rate_plan_change;
    DELETE FROM device_tenant;
    INSERT INTO device_tenant OVERRIDING SYSTEM VALUE SELECT * FROM test_device_tenant_seed`);
});

describe('applying scheduled customer rate plan changes', () => {
  it('applies every change due by the day (over 10,000), oldest first, with history and change log; once', async () => {
    expect(owned).toBeGreaterThan(10_000);
    const onTheDay = await schedule({ effectiveDate: DUE, plan: 1, allocation: 'plan' });
    // Earlier, inserted later (a higher id): must still be applied BEFORE the one of the day.
    const earlier = await schedule({
      effectiveDate: '2026-05-20',
      where: 'dt.device_id % 7 = 0',
      plan: 0,
      pool: 0,
      allocation: 10,
      bulkChange: false,
      by: 'operator',
    });
    const tomorrow = await schedule({ effectiveDate: '2026-06-02', where: 'dt.device_id % 5 = 0', plan: 2 });
    const later = await schedule({ effectiveDate: '2026-07-01', where: 'dt.device_id % 11 = 0', plan: 3 });
    expect(onTheDay).toBe(owned);
    expect(earlier).toBeGreaterThan(1000);

    expect(await service().applyDue(DUE)).toEqual({
      applied: onTheDay + earlier,
      cancelled: 0,
      carrierPlans: 0,
    });

    const state = await one<{ ok: number; total: number }>(`
      SELECT count(*) FILTER (WHERE dt.customer_rate_plan_id = p.id AND dt.data_allocation_mb = 100
               AND dt.customer_rate_pool_id IS NOT DISTINCT FROM
                   CASE WHEN dt.device_id % 7 = 0 THEN (SELECT min(id) FROM customer_rate_pool r
                                                        WHERE r.tenant_id = dt.tenant_id) END)::int AS ok,
             count(*)::int AS total
      FROM device_tenant dt JOIN customer_rate_plan p ON p.tenant_id = dt.tenant_id AND p.code = 'CRP-100'`);
    expect(state).toEqual({ ok: owned, total: owned });

    const statuses = await q<{ effective_date: string; status: string; stamped: boolean; n: number }>(`
      SELECT effective_date, status, applied_at IS NOT NULL AS stamped, count(*)::int AS n
      FROM scheduled_rate_plan_change GROUP BY 1, 2, 3 ORDER BY 1`);
    expect(statuses).toEqual([
      { effective_date: '2026-05-20', status: 'applied', stamped: true, n: earlier },
      { effective_date: DUE, status: 'applied', stamped: true, n: onTheDay },
      { effective_date: '2026-06-02', status: 'scheduled', stamped: false, n: tomorrow },
      { effective_date: '2026-07-01', status: 'scheduled', stamped: false, n: later },
    ]);

    // One history row per applied change: changed_by and bulk change from the change itself.
    expect(await count('device_history')).toBe(onTheDay + earlier);
    const wrongHistory = await count(`(
      SELECT device_id, bulk_change_id, created_by, customer_rate_plan_id FROM scheduled_rate_plan_change
      WHERE status = 'applied'
      EXCEPT
      SELECT device_id, bulk_change_id, changed_by, (after->>'ratePlanId')::bigint FROM device_history
      WHERE change_type = 'customer_rate_plan') AS missing`);
    expect(wrongHistory).toBe(0);
    // The chain for a device with both: nothing → the earlier change → the change of the day.
    const chain = await q<{ before: unknown; after: unknown }>(`
      SELECT h.before, h.after FROM device_history h
      WHERE h.device_id = (SELECT min(device_id) FROM device_tenant WHERE device_id % 7 = 0) ORDER BY h.id`);
    const [plan10, plan100, pool0] = await planIds(
      `(SELECT min(device_id) FROM device_tenant WHERE device_id % 7 = 0)`,
    );
    const nothing = { ratePlanId: null, ratePoolId: null, dataAllocationMb: null };
    const afterEarlier = { ratePlanId: plan10, ratePoolId: pool0, dataAllocationMb: 10 };
    expect(chain).toEqual([
      { before: nothing, after: afterEarlier },
      { before: afterEarlier, after: { ...afterEarlier, ratePlanId: plan100, dataAllocationMb: 100 } },
    ]);

    // Change log: one row per change that came from a bulk change (not the operator's others).
    // (EXCEPT rather than a join: fresh rows have no planner statistics, and a nested loop took 19 s.)
    expect(
      await count(`(
        SELECT bulk_change_id, device_id, portal_type FROM scheduled_rate_plan_change
        WHERE status = 'applied' AND bulk_change_id IS NOT NULL
        EXCEPT
        SELECT bulk_change_id, device_id, portal_type FROM change_log
        WHERE description = 'Associate Customer: Update AMOP Customer Rate Plan' AND processed_by = 'scheduler'
          AND NOT has_error) AS missing`),
    ).toBe(0);
    expect(await count('change_log')).toBe(onTheDay);

    expect(await service().applyDue(DUE)).toEqual({ applied: 0, cancelled: 0, carrierPlans: 0 });
    expect(await count('device_history')).toBe(onTheDay + earlier);
    expect(await count('change_log')).toBe(onTheDay);
  });

  it('applies a change on its date and not the day before', async () => {
    const due = await schedule({ effectiveDate: DUE, plan: 3, allocation: 'plan' });

    expect(await service().applyDue('2026-05-31')).toEqual({ applied: 0, cancelled: 0, carrierPlans: 0 });
    expect(await count(`scheduled_rate_plan_change WHERE status = 'scheduled'`)).toBe(due);
    expect(await count('device_tenant WHERE customer_rate_plan_id IS NOT NULL')).toBe(0);
    expect(await count('device_history')).toBe(0);

    expect(await service().applyDue(DUE)).toEqual({ applied: due, cancelled: 0, carrierPlans: 0 });
    expect(await count('device_tenant WHERE customer_rate_plan_id IS NOT NULL')).toBe(owned);
  }, 120_000);

  it('applies each change exactly once when two workers on two pools run at the same time', async () => {
    const due = await schedule({ effectiveDate: DUE, plan: 4, allocation: 'plan' });
    const other = createDatabase(database.url, 4, 'simbind-test-second-worker');
    try {
      const workers = [service(), createRatePlanScheduleService({ db: other.db })];
      const results = await Promise.all([...workers, ...workers].map((w) => w.applyDue(DUE)));
      expect(results.reduce((sum, r) => sum + r.applied, 0)).toBe(due);
      expect(results.every((r) => r.cancelled === 0)).toBe(true);
    } finally {
      await other.close();
    }
    expect(await count('device_history')).toBe(due);
    expect(await count('(SELECT DISTINCT device_id FROM device_history) d')).toBe(due);
    expect(await count('change_log')).toBe(due);
    expect(await count(`scheduled_rate_plan_change WHERE status = 'applied'`)).toBe(due);
  }, 120_000); // seconds alone; once measured at > 30 s inside the full suite on 2 cores

  it('cancels, and applies nothing for, a device no longer owned (row gone, deleted, or another customer)', async () => {
    const ids = await q<{ device_id: number }>(
      'SELECT device_id FROM device_tenant WHERE NOT is_deleted ORDER BY device_id LIMIT 4',
    );
    const [gone, deleted, moved, kept] = ids.map((r) => r.device_id);
    await schedule({
      effectiveDate: DUE,
      where: `dt.device_id IN (${ids.map((r) => r.device_id).join(',')})`,
      plan: 2,
    });
    await q('DELETE FROM device_tenant WHERE device_id = $1', [gone]);
    await q('UPDATE device_tenant SET is_deleted = true WHERE device_id = $1', [deleted]);
    await q(
      `UPDATE device_tenant dt SET customer_id = (SELECT min(c.id) FROM customer c
         WHERE c.tenant_id = dt.tenant_id AND c.id <> dt.customer_id) WHERE device_id = $1`,
      [moved],
    );

    expect(await service().applyDue(DUE)).toEqual({ applied: 1, cancelled: 3, carrierPlans: 0 });

    const changes = await q<{ device_id: number; status: string; applied_at: Date | null }>(
      'SELECT device_id, status, applied_at FROM scheduled_rate_plan_change ORDER BY device_id',
    );
    expect(changes.map((c) => [c.device_id, c.status, c.applied_at === null])).toEqual([
      [gone, 'cancelled', true],
      [deleted, 'cancelled', true],
      [moved, 'cancelled', true],
      [kept, 'applied', false],
    ]);
    expect(await count('device_tenant WHERE device_id = $1', [gone])).toBe(0);
    expect(
      await count('device_tenant WHERE device_id = ANY($1) AND customer_rate_plan_id IS NULL', [
        [deleted, moved],
      ]),
    ).toBe(2);
    expect(
      await count('device_tenant WHERE device_id = $1 AND customer_rate_plan_id IS NOT NULL', [kept]),
    ).toBe(1);
    expect(await q('SELECT device_id FROM device_history')).toEqual([{ device_id: kept }]);
    expect(await count('change_log WHERE has_error AND device_id = ANY($1)', [[gone, deleted, moved]])).toBe(
      3,
    );
  });

  it('a pool-only change sets the pool and leaves the plan and allocation alone', async () => {
    const { device_id: device } = await one<{ device_id: number }>(
      'SELECT min(device_id) AS device_id FROM device_tenant WHERE NOT is_deleted',
    );
    await q(
      `UPDATE device_tenant dt SET data_allocation_mb = 500, customer_rate_plan_id =
         (SELECT id FROM customer_rate_plan p WHERE p.tenant_id = dt.tenant_id AND p.code = 'CRP-500')
       WHERE device_id = $1`,
      [device],
    );
    await schedule({ effectiveDate: DUE, where: `dt.device_id = ${device}`, pool: 1 });

    expect(await service().applyDue(DUE)).toEqual({ applied: 1, cancelled: 0, carrierPlans: 0 });

    const row = await one<{ plan: string; pool: number; allocation: string }>(
      `SELECT p.code AS plan, dt.customer_rate_pool_id AS pool, dt.data_allocation_mb AS allocation
       FROM device_tenant dt JOIN customer_rate_plan p ON p.id = dt.customer_rate_plan_id WHERE dt.device_id = $1`,
      [device],
    );
    const pool1 = await one<{ id: number }>(
      `SELECT id FROM customer_rate_pool WHERE tenant_id = (SELECT tenant_id FROM device WHERE id = $1)
       ORDER BY id OFFSET 1 LIMIT 1`,
      [device],
    );
    expect(row).toEqual({ plan: 'CRP-500', pool: pool1.id, allocation: '500.00' });
    const history = await one<{ before: Record<string, unknown>; after: Record<string, unknown> }>(
      'SELECT before, after FROM device_history WHERE device_id = $1',
      [device],
    );
    expect(history.before.ratePoolId).toBeNull();
    expect(history.after).toEqual({ ...history.before, ratePoolId: pool1.id });
  });

  it('refuses a day that is not a yyyy-MM-dd date, applying nothing', async () => {
    await schedule({ effectiveDate: '2026-02-28', where: 'dt.device_id % 50 = 0', plan: 0 });
    for (const day of ['2026-02-30', '01/06/2026', '']) {
      await expect(service().applyDue(day)).rejects.toBeInstanceOf(InvalidInputError);
    }
    expect(await count(`scheduled_rate_plan_change WHERE status <> 'scheduled'`)).toBe(0);
  });
});

describe('the scheduled task', () => {
  it('is scheduled daily (UTC), applies what is due on the UTC day or a past day a job names, never a future one', async () => {
    const day = (offset: number) => utcToday(new Date(Date.now() + offset * 86_400_000));
    const [yesterday, today, tomorrow] = [day(-1), day(0), day(1)];
    const dueYesterday = await schedule({
      effectiveDate: yesterday,
      where: 'dt.device_id % 40 = 0',
      plan: 1,
    });
    const dueToday = await schedule({ effectiveDate: today, where: 'dt.device_id % 40 = 1', plan: 2 });
    const dueTomorrow = await schedule({ effectiveDate: tomorrow, where: 'dt.device_id % 40 = 2', plan: 3 });
    const applied = () => count(`scheduled_rate_plan_change WHERE status = 'applied'`);
    const queue = await startQueue({ connectionString: database.url, pollSeconds: 1, supervise: false });
    try {
      await registerRatePlanScheduleTask(queue, service());
      expect(
        await q(`SELECT cron, timezone FROM pgboss.schedule WHERE name = 'rate-plan.apply-scheduled'`),
      ).toEqual([{ cron: '5 0 * * *', timezone: 'UTC' }]);

      await queue.enqueue(database.db, 'rate-plan.apply-scheduled', { today: yesterday });
      await until(async () => (await applied()) === dueYesterday);
      expect(
        await count(`scheduled_rate_plan_change WHERE effective_date = $1 AND status = 'scheduled'`, [today]),
      ).toBe(dueToday);

      await queue.enqueue(database.db, 'rate-plan.apply-scheduled', {});
      await until(async () => (await applied()) === dueYesterday + dueToday);

      await queue.enqueue(database.db, 'rate-plan.apply-scheduled', { today: tomorrow });
      await until(
        async () =>
          (await count(
            `pgboss.job WHERE name = 'rate-plan.apply-scheduled' AND data->>'today' = $1
                          AND state IN ('retry', 'failed')`,
            [tomorrow],
          )) === 1,
      );
      expect(await count(`scheduled_rate_plan_change WHERE status = 'scheduled'`)).toBe(dueTomorrow);
    } finally {
      await queue.stop();
    }
  });
});

/** The tenant's CRP-10 and CRP-100 plan ids and first pool id, for the tenant of `deviceSql`. */
async function planIds(deviceSql: string): Promise<[number, number, number]> {
  const row = await one<{ a: number; b: number; c: number }>(`
    SELECT (SELECT id FROM customer_rate_plan WHERE tenant_id = d.tenant_id AND code = 'CRP-10') AS a,
           (SELECT id FROM customer_rate_plan WHERE tenant_id = d.tenant_id AND code = 'CRP-100') AS b,
           (SELECT min(id) FROM customer_rate_pool WHERE tenant_id = d.tenant_id) AS c
    FROM device d WHERE d.id = ${deviceSql}`);
  return [row.a, row.b, row.c];
}

async function until(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the scheduled task');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
