import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as bulkChanges from '../../src/db/repositories/bulk-change.repository.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';

/**
 * insertWorkOrders writes a submission's work orders with a plain INSERT, and only when a device
 * was taken by another open bulk change after validation read it (the open-work-order index
 * refuses it) does it roll back to its savepoint and write the rest, naming the devices it could
 * not write. Both ways are run here deterministically: the race of two HTTP submissions hits the
 * second way only sometimes.
 */

let database: TestDatabase;
let fleet: Fleet;
let admin: number;
beforeAll(async () => {
  database = await createTestDatabase(2);
  await seedDemoData(database.db, { devices: 60 });
  fleet = await loadFleet(database.pool);
  const { rows } = await database.pool.query<{ id: number }>(
    "SELECT id FROM app_user WHERE email = 'admin@northwind.example'",
  );
  admin = rows[0]!.id;
});
afterAll(async () => {
  await database?.drop();
});

async function devicesOf(iccids: string[]) {
  const { rows } = await database.pool.query<{ id: number; iccid: string; msisdn: string | null }>(
    'SELECT id, iccid, msisdn FROM device WHERE iccid = ANY($1) ORDER BY id',
    [iccids],
  );
  return rows;
}

/** Work orders for `iccids` in a new bulk change, in one transaction; what insertWorkOrders answered. */
async function submitRows(iccids: string[]): Promise<{ bulkChangeId: number; lost: string[] }> {
  const devices = await devicesOf(iccids);
  return database.db.transaction().execute(async (trx) => {
    const bulkChangeId = await bulkChanges.insertBulkChange(trx, {
      tenantId: fleet.tenantId,
      serviceProviderId: fleet.thingspace,
      portalType: 'm2m',
      customerId: fleet.amopCustomer.id,
      siteId: fleet.amopCustomer.defaultSiteId,
      options: {},
      totalCount: devices.length,
      createdBy: admin,
      idempotencyKey: null,
      requestHash: 'test',
      source: 'api',
    });
    const lost = await bulkChanges.insertWorkOrders(
      trx,
      {
        tenantId: fleet.tenantId,
        bulkChangeId,
        customerId: fleet.amopCustomer.id,
        siteId: fleet.amopCustomer.defaultSiteId,
        revCustomerId: null,
        revCredentialsId: null,
        activatedDate: '2026-12-04',
      },
      // Reverse device order: the insert itself puts them in device order.
      [...devices].reverse().map((d) => ({
        identifier: d.iccid,
        deviceId: d.id,
        iccid: d.iccid,
        msisdn: d.msisdn,
        status: 'PENDING' as const,
        errorCategory: null,
        message: null,
        chunk: 0,
        effectiveDate: '2026-12-01',
      })),
    );
    return { bulkChangeId, lost };
  });
}

async function rowsOf(bulkChangeId: number) {
  const { rows } = await database.pool.query<{ identifier: string; status: string; effective: string }>(
    `SELECT identifier, status, request->>'effectiveDate' AS effective FROM bulk_change_device
     WHERE bulk_change_id = $1 ORDER BY id`,
    [bulkChangeId],
  );
  return rows;
}

describe('insertWorkOrders', () => {
  it('writes every work order in device order when no device is held elsewhere', async () => {
    const iccids = await freeDevices(database.pool, fleet.thingspace, 3);
    const { bulkChangeId, lost } = await submitRows(iccids);
    expect(lost).toEqual([]);
    const rows = await rowsOf(bulkChangeId);
    expect(rows.map((r) => r.identifier)).toEqual((await devicesOf(iccids)).map((d) => d.iccid));
    expect(rows.every((r) => r.status === 'PENDING' && r.effective === '2026-12-01')).toBe(true);
  });

  it('writes the others and names the devices another open bulk change took meanwhile', async () => {
    const [held, ...free] = await freeDevices(database.pool, fleet.thingspace, 3);
    const first = await submitRows([held!]);
    expect(first.lost).toEqual([]);
    const second = await submitRows([held!, ...free]);
    expect(second.lost).toEqual([held]);
    expect((await rowsOf(second.bulkChangeId)).map((r) => r.identifier).sort()).toEqual([...free].sort());
    // The transaction went on after the refused insert: its bulk change and rows are committed.
    const { rows } = await database.pool.query('SELECT 1 FROM bulk_change WHERE id = $1', [
      second.bulkChangeId,
    ]);
    expect(rows).toHaveLength(1);
  });
});
