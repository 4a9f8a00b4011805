import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postAssignment } from '../helpers/assignments.ts';
import { freeDevices } from '../helpers/fleet.ts';
import { openFleetWorld, type FleetWorld } from '../helpers/fleet-world.ts';

/**
 * Issue 13, B1: the AMOP path (every step local) claims and finishes a group in one transaction,
 * writing each work order once more after its insert (PENDING → PROCESSED, never PROCESSING), in
 * the statement that writes its ownership, history and change-log entry. No worker runs here: the
 * test runs the chunk itself, and a trigger records every update of a work order.
 */

let fw: FleetWorld;

beforeAll(async () => {
  fw = await openFleetWorld({ worker: false });
  await fw.world.database.pool.query(`
    CREATE TABLE work_order_write (work_order_id bigint, old_status text, new_status text, steps text[]);
    CREATE FUNCTION record_write() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO work_order_write VALUES (NEW.id, OLD.status, NEW.status, NEW.steps_done);
      RETURN NEW;
    END $$;
    CREATE TRIGGER record_write AFTER UPDATE ON bulk_change_device FOR EACH ROW EXECUTE FUNCTION record_write();
  `);
}, 120_000);
afterAll(async () => {
  await fw?.world.close();
});

const q = async <T>(text: string, values: unknown[] = []) =>
  (await fw.world.database.pool.query(text, values)).rows as T[];

async function submit(devices: string[], body: Record<string, unknown> = {}): Promise<number> {
  const res = await postAssignment(fw.world.app, fw.admin, {
    serviceProviderId: fw.fleet.thingspace,
    customerId: fw.fleet.amopCustomer.id,
    devices,
    ...body,
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ id: number }>().id;
}

const chunkJobs = (id: number) =>
  q<{ chunk: number }>(
    `SELECT (data->>'chunk')::int AS chunk FROM pgboss.job
     WHERE name = 'bulk-change.process-chunk' AND (data->>'bulkChangeId')::bigint = $1 ORDER BY 1`,
    [id],
  );

const writesOf = (id: number) =>
  q<{ work_order_id: number; old_status: string; new_status: string; steps: string[] }>(
    `SELECT o.* FROM work_order_write o JOIN bulk_change_device w ON w.id = o.work_order_id
     WHERE w.bulk_change_id = $1 ORDER BY o.work_order_id`,
    [id],
  );

describe('an assignment whose steps are all local', () => {
  it('is one chunk job, and each work order is written once when done, with its rows', async () => {
    const devices = await freeDevices(fw.world.database.pool, fw.fleet.thingspace, 250);
    const id = await submit(devices);
    // The world's CHUNK_SIZE is 100: it paces external calls, not local work.
    expect(await chunkJobs(id)).toEqual([{ chunk: 0 }]);

    await fw.world.services.processing.processChunk(id, 0);

    const writes = await writesOf(id);
    expect(writes).toHaveLength(250);
    for (const write of writes) {
      expect(write).toMatchObject({ old_status: 'PENDING', new_status: 'PROCESSED', steps: ['ownership'] });
    }
    const orders = await q<{ attempts: number; started: boolean; processed: boolean }>(
      `SELECT attempts, started_at IS NOT NULL AS started, processed_at IS NOT NULL AS processed
       FROM bulk_change_device WHERE bulk_change_id = $1`,
      [id],
    );
    expect(orders).toHaveLength(250);
    expect(orders.every((o) => o.attempts === 1 && o.started && o.processed)).toBe(true);
    const [rows] = await q<{ logs: number; history: number; owned: number; plain: number }>(
      `SELECT (SELECT count(*)::int FROM change_log l JOIN bulk_change_device w ON w.id = l.bulk_change_device_id
               WHERE l.bulk_change_id = $1 AND l.device_id = w.device_id AND l.description = 'AMOP Customer Assignment'
                 AND NOT l.has_error AND l.submitted_by = 'admin@northwind.example') AS logs,
              (SELECT count(*)::int FROM device_history h WHERE h.bulk_change_id = $1 AND h.before IS NULL
                 AND h.after->>'customerId' = $2::bigint::text AND h.after->>'accountNumber' IS NULL) AS history,
              (SELECT count(*)::int FROM device_tenant dt JOIN bulk_change_device w ON w.device_id = dt.device_id
               WHERE w.bulk_change_id = $1 AND dt.customer_id = $2::bigint AND dt.site_id = $3 AND dt.is_active) AS owned,
              (SELECT count(*)::int FROM change_log WHERE bulk_change_id = $1) AS plain`,
      [id, fw.fleet.amopCustomer.id, fw.fleet.amopCustomer.defaultSiteId],
    );
    expect(rows).toEqual({ logs: 250, history: 250, owned: 250, plain: 250 });
    const [bc] = await q<{ status: string }>('SELECT status FROM bulk_change WHERE id = $1', [id]);
    expect(bc!.status).toBe('PROCESSING');
    expect(await fw.world.services.lifecycle.finish(id)).toBe(true);
  });

  it('with a customer rate plan: both steps in the one write, the plan applied with its log', async () => {
    const devices = await freeDevices(fw.world.database.pool, fw.fleet.thingspace, 20);
    const id = await submit(devices, {
      addCustomerRatePlan: true,
      customerRatePlan: { ratePlanId: fw.fleet.customerRatePlan },
      effectiveDate: '2020-01-01',
    });
    await fw.world.services.processing.processChunk(id, 0);

    const writes = await writesOf(id);
    expect(writes).toHaveLength(20);
    for (const write of writes) {
      expect(write).toMatchObject({ new_status: 'PROCESSED', steps: ['ownership', 'customer_rate_plan'] });
    }
    const [rows] = await q<{ planned: number; logs: number }>(
      `SELECT (SELECT count(*)::int FROM device_tenant dt JOIN bulk_change_device w ON w.device_id = dt.device_id
               WHERE w.bulk_change_id = $1 AND dt.customer_rate_plan_id = $2) AS planned,
              (SELECT count(*)::int FROM change_log WHERE bulk_change_id = $1
                 AND description = 'AMOP Customer Rate Plan/Rate Pool Assignment') AS logs`,
      [id, fw.fleet.customerRatePlan],
    );
    expect(rows).toEqual({ planned: 20, logs: 20 });
  });

  it('does not do again a step a re-opened work order had done, nor log it twice', async () => {
    const devices = await freeDevices(fw.world.database.pool, fw.fleet.thingspace, 3);
    const id = await submit(devices);
    await fw.world.services.processing.processChunk(id, 0);
    // As "retry failed" leaves a work order whose later step failed: open again, ownership done.
    const [reopened] = await q<{ id: number }>(
      `UPDATE bulk_change_device SET status = 'PENDING', processed_at = NULL
       WHERE id = (SELECT min(id) FROM bulk_change_device WHERE bulk_change_id = $1) RETURNING id`,
      [id],
    );
    await fw.world.services.processing.processChunk(id, 0);

    const [row] = await q<{ status: string; steps_done: string[]; attempts: number }>(
      'SELECT status, steps_done, attempts FROM bulk_change_device WHERE id = $1',
      [reopened!.id],
    );
    expect(row).toEqual({ status: 'PROCESSED', steps_done: ['ownership'], attempts: 2 });
    const [counts] = await q<{ logs: number; history: number }>(
      `SELECT (SELECT count(*)::int FROM change_log WHERE bulk_change_device_id = $1) AS logs,
              (SELECT count(*)::int FROM device_history h JOIN bulk_change_device w ON w.device_id = h.device_id
               WHERE w.id = $1 AND h.bulk_change_id = $2) AS history`,
      [reopened!.id, id],
    );
    expect(counts).toEqual({ logs: 1, history: 1 });
  });

  it('cancelled before its group is claimed: nothing is processed, nothing is owned', async () => {
    const devices = await freeDevices(fw.world.database.pool, fw.fleet.thingspace, 5);
    const id = await submit(devices);
    const cancel = await fw.world.app.inject({
      method: 'POST',
      url: `/api/v1/bulk-changes/${id}/cancel`,
      headers: fw.admin,
    });
    expect(cancel.statusCode, cancel.body).toBe(202);
    await fw.world.services.processing.processChunk(id, 0);

    const [rows] = await q<{ cancelled: number; owned: number; logs: number }>(
      `SELECT (SELECT count(*)::int FROM bulk_change_device WHERE bulk_change_id = $1 AND status = 'CANCELLED') AS cancelled,
              (SELECT count(*)::int FROM device_tenant dt JOIN bulk_change_device w ON w.device_id = dt.device_id
               WHERE w.bulk_change_id = $1) AS owned,
              (SELECT count(*)::int FROM change_log WHERE bulk_change_id = $1) AS logs`,
      [id],
    );
    expect(rows).toEqual({ cancelled: 5, owned: 0, logs: 0 });
  });
});
