import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  findCarrierResults,
  INBOX_LIMITS,
  storeCarrierResults,
} from '../../src/db/repositories/carrier-wait.repository.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * The inbox of carrier results that beat the worker's bookkeeping (security review, issue 18): one
 * per ThingSpace account, bounded, expiring, and a confirmed failure is not overwritten.
 */

let database: TestDatabase;
let accountA: number;
let accountB: number;
const limits = { maxPerAccount: 3, maxAgeMinutes: 60 };

beforeAll(async () => {
  database = await createTestDatabase(4);
  await seedDemoData(database.db, { devices: 10 });
  const { rows } = await database.pool.query<{ id: number }>(
    "SELECT id FROM integration_credentials WHERE integration = 'thingspace' ORDER BY id",
  );
  [accountA, accountB] = rows.map((r) => r.id) as [number, number];
});
afterAll(async () => {
  await database?.drop();
});

const ids = (results: { requestId: string }[]) => results.map((r) => r.requestId).sort();
const rowsOf = async (account: number) =>
  (
    await database.pool.query<{ request_id: string }>(
      'SELECT request_id FROM carrier_result WHERE credentials_id = $1 ORDER BY request_id',
      [account],
    )
  ).rows.map((r) => r.request_id);

describe('the carrier result inbox', () => {
  it("keeps each account's results apart: one account's result is not found for another", async () => {
    await storeCarrierResults(database.db, accountB, [{ requestId: 'shared-1', status: 'Failed' }], limits);
    await storeCarrierResults(database.db, accountA, [{ requestId: 'shared-1', status: 'Success' }], limits);
    await storeCarrierResults(database.db, accountB, [{ requestId: 'b-only', status: 'Success' }], limits);
    expect(await findCarrierResults(database.db, accountA, ['shared-1', 'b-only'], limits)).toEqual([
      { requestId: 'shared-1', status: 'Success', faultString: undefined },
    ]);
    expect(ids(await findCarrierResults(database.db, accountB, ['shared-1', 'b-only'], limits))).toEqual([
      'b-only',
      'shared-1',
    ]);
  });

  it('keeps at most the newest N per account, dropping the oldest', async () => {
    for (const n of [1, 2, 3, 4, 5]) {
      await storeCarrierResults(
        database.db,
        accountA,
        [{ requestId: `bound-${n}`, status: 'Success' }],
        limits,
      );
    }
    expect(await rowsOf(accountA)).toEqual(['bound-3', 'bound-4', 'bound-5']);
    // the other account's rows are not counted against, nor dropped for, this one
    expect(await rowsOf(accountB)).toEqual(['b-only', 'shared-1']);
    expect(INBOX_LIMITS.maxPerAccount).toBeGreaterThan(1000);
  });

  it('ignores rows older than the age limit, and deletes them on the next store', async () => {
    await database.pool.query(
      "UPDATE carrier_result SET received_at = now() - interval '61 minutes' WHERE credentials_id = $1 AND request_id = 'shared-1'",
      [accountB],
    );
    expect(await findCarrierResults(database.db, accountB, ['shared-1'], limits)).toEqual([]);
    await storeCarrierResults(database.db, accountB, [{ requestId: 'fresh', status: 'Success' }], limits);
    expect(await rowsOf(accountB)).toEqual(['b-only', 'fresh']);
    expect(INBOX_LIMITS.maxAgeMinutes).toBe(24 * 60);
  });

  it('lets a later result replace an earlier one, except a (confirmed) Failed', async () => {
    await storeCarrierResults(database.db, accountA, [{ requestId: 'later', status: 'Success' }], limits);
    await storeCarrierResults(
      database.db,
      accountA,
      [{ requestId: 'later', status: 'Failed', faultString: 'monthly limit' }],
      limits,
    );
    await storeCarrierResults(database.db, accountA, [{ requestId: 'later', status: 'Success' }], limits);
    expect(await findCarrierResults(database.db, accountA, ['later'], limits)).toEqual([
      { requestId: 'later', status: 'Failed', faultString: 'monthly limit' },
    ]);
  });
});
