import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as bulkChanges from '../../src/db/repositories/bulk-change.repository.ts';
import { finishLocalGroup } from '../../src/db/repositories/ownership.repository.ts';
import { claimGroup } from '../../src/db/repositories/processing.repository.ts';
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
      workOrderRequest: {
        customerId: fleet.amopCustomer.id,
        siteId: fleet.amopCustomer.defaultSiteId,
        revCustomerId: null,
        revCredentialsId: null,
        activatedDate: '2026-12-04',
      },
    });
    const lost = await bulkChanges.insertWorkOrders(
      trx,
      { tenantId: fleet.tenantId, bulkChangeId },
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

describe('the request snapshot', () => {
  /** What a claimed work order of `submitRows` is asked: the bulk change's half and the device's. */
  const snapshotOf = (d: { id: number; iccid: string; msisdn: string | null }) => ({
    customerId: fleet.amopCustomer.id,
    siteId: fleet.amopCustomer.defaultSiteId,
    revCustomerId: null,
    revCredentialsId: null,
    activatedDate: '2026-12-04',
    deviceId: d.id,
    iccid: d.iccid,
    msisdn: d.msisdn,
    effectiveDate: '2026-12-01',
  });
  const requestsOf = async (bulkChangeId: number) =>
    (
      await database.pool.query<{ request: unknown }>(
        'SELECT request FROM bulk_change_device WHERE bulk_change_id = $1 ORDER BY id',
        [bulkChangeId],
      )
    ).rows.map((r) => r.request);

  it('is the effective date alone until a claim writes it whole, and a second claim writes the same', async () => {
    const iccids = await freeDevices(database.pool, fleet.thingspace, 2);
    const { bulkChangeId } = await submitRows(iccids);
    const expected = (await devicesOf(iccids)).map(snapshotOf);
    expect(await requestsOf(bulkChangeId)).toEqual(expected.map(() => ({ effectiveDate: '2026-12-01' })));

    const claimed = await claimGroup(database.db, bulkChangeId, 0, 10);
    expect(claimed.map((item) => item.request)).toEqual(expected);
    expect(await requestsOf(bulkChangeId)).toEqual(expected);
    // A run that died left them PROCESSING: the next claim takes them again, with the same request.
    const again = await claimGroup(database.db, bulkChangeId, 0, 10);
    expect(again.map((item) => item.request)).toEqual(expected);
  });

  const finishLocal = (bulkChangeId: number) =>
    finishLocalGroup(
      database.db,
      {
        bulkChangeId,
        tenantId: fleet.tenantId,
        portalType: 'm2m',
        customerId: fleet.amopCustomer.id,
        createdBy: admin,
        submittedBy: 'admin@northwind.example',
        processedBy: 'test',
      },
      { chunk: 0, limit: 10, steps: ['ownership'], description: 'test', items: true },
    );
  const sitesOf = async (iccids: string[]) =>
    (
      await database.pool.query<{ site_id: number | null }>(
        `SELECT dt.site_id FROM device d JOIN device_tenant dt ON dt.device_id = d.id
         WHERE d.iccid = ANY($1) ORDER BY d.id`,
        [iccids],
      )
    ).rows.map((r) => (r.site_id === null ? null : Number(r.site_id)));

  it('is read whole by the local path, which writes the site it names and leaves the row its own half', async () => {
    const iccids = await freeDevices(database.pool, fleet.thingspace, 2);
    const { bulkChangeId } = await submitRows(iccids);
    const group = await finishLocal(bulkChangeId);
    const expected = (await devicesOf(iccids)).map(snapshotOf);
    expect(group.items.map((item) => item.request)).toEqual(expected);
    expect(await sitesOf(iccids)).toEqual(iccids.map(() => fleet.amopCustomer.defaultSiteId));
    expect(await requestsOf(bulkChangeId)).toEqual(expected.map(() => ({ effectiveDate: '2026-12-01' })));
  });

  it('is read from the row by the local path when the bulk change has no half (submitted before 0026)', async () => {
    const iccids = await freeDevices(database.pool, fleet.thingspace, 1);
    const { bulkChangeId } = await submitRows(iccids);
    const [whole] = (await devicesOf(iccids)).map(snapshotOf);
    // A site other than the bulk change's, so the one written can only have come from the row.
    const { rows: sites } = await database.pool.query<{ id: string }>(
      `INSERT INTO site (tenant_id, customer_id, name) VALUES ($1, $2, 'Pre-0026 yard') RETURNING id`,
      [fleet.tenantId, fleet.amopCustomer.id],
    );
    const site = Number(sites[0]!.id);
    await database.pool.query('UPDATE bulk_change SET work_order_request = NULL WHERE id = $1', [
      bulkChangeId,
    ]);
    await database.pool.query('UPDATE bulk_change_device SET request = $2 WHERE bulk_change_id = $1', [
      bulkChangeId,
      { ...whole, siteId: site },
    ]);
    const group = await finishLocal(bulkChangeId);
    expect(group.items.map((item) => item.request)).toEqual([{ ...whole, siteId: site }]);
    expect(await sitesOf(iccids)).toEqual([site]);
  });

  it('is left as it is for a bulk change whose work orders hold their whole request (undo)', async () => {
    const iccids = await freeDevices(database.pool, fleet.thingspace, 1);
    const { bulkChangeId } = await submitRows(iccids);
    const own = { originalWorkOrderId: 42, effectiveDate: '2026-12-01' };
    await database.pool.query('UPDATE bulk_change SET work_order_request = NULL WHERE id = $1', [
      bulkChangeId,
    ]);
    await database.pool.query('UPDATE bulk_change_device SET request = $2 WHERE bulk_change_id = $1', [
      bulkChangeId,
      own,
    ]);
    const claimed = await claimGroup(database.db, bulkChangeId, 0, 10);
    expect(claimed.map((item) => item.request)).toEqual([own]);
  });
});
