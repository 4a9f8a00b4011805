import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, loadFleet } from '../helpers/fleet.ts';
import { postAssignment } from '../helpers/assignments.ts';

/**
 * The older system created the bulk change and queued it in two steps: a failed enqueue left a
 * bulk change nobody would process while the user was told it succeeded. Here the enqueue really
 * fails (pg-boss's job table is gone) inside the same transaction, so nothing at all is written.
 */

let database: TestDatabase;
let app: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 1000 });
  app = await buildTestAppWithServices(database);
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

describe('creating a bulk change is one transaction', () => {
  it('a failing enqueue leaves no bulk change, no work order and no log row behind', async () => {
    const fleet = await loadFleet(database.pool);
    const devices = await freeDevices(database.pool, fleet.thingspace, 10);
    const headers = await authHeaders(database.db, 'admin@northwind.example');
    // A real failure of the queue's own INSERT, not a stub: its table is renamed away.
    await database.pool.query('ALTER TABLE pgboss.job RENAME TO job_unavailable');
    try {
      const res = await postAssignment(app, headers, {
        serviceProviderId: fleet.thingspace,
        customerId: fleet.amopCustomer.id,
        devices: [...devices, '123'],
      });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({
        error: { code: 'internal', message: 'Something went wrong on our side.' },
      });
    } finally {
      await database.pool.query('ALTER TABLE pgboss.job_unavailable RENAME TO job');
    }
    const { rows } = await database.pool.query<{ changes: number; orders: number; logs: number }>(
      `SELECT (SELECT count(*)::int FROM bulk_change) AS changes, (SELECT count(*)::int FROM bulk_change_device) AS orders,
              (SELECT count(*)::int FROM change_log) AS logs`,
    );
    expect(rows[0]).toEqual({ changes: 0, orders: 0, logs: 0 });
  });
});
