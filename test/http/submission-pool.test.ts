import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { luhnCheckDigit } from '../../src/services/identifiers.ts';
import { buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';

/**
 * A submission holds its transaction's connection while reading its next slice of devices on
 * another one from the pool. With a pool of two, two submissions at once would hold both and wait
 * for ever; at most one fewer write than the pool has connections runs at once.
 */

let database: TestDatabase;
let app: TestApp;
let fleet: Fleet;
let admin: { authorization: string };

beforeAll(async () => {
  database = await createTestDatabase(2);
  await seedDemoData(database.db, { devices: 2_000 });
  app = await buildTestAppWithServices(database, { DATABASE_POOL_SIZE: '2' });
  fleet = await loadFleet(database.pool);
  admin = await authHeaders(database.db, 'admin@northwind.example');
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

it('takes submissions of several slices at once with a pool of two connections', async () => {
  const devices = await freeDevices(database.pool, fleet.thingspace, 3);
  // Each names one device, then 5,000 in no fleet: two slices, the second read while the first is written.
  const submissions = devices.map((device, n) =>
    postAssignment(app, admin, {
      serviceProviderId: fleet.thingspace,
      customerId: fleet.amopCustomer.id,
      devices: [
        device,
        ...Array.from({ length: 5_000 }, (_, i) => {
          const body = `8914809${n}${String(i).padStart(11, '0')}`;
          return `${body}${luhnCheckDigit(body)}`;
        }),
      ],
    }),
  );
  const hung = new Promise<never>((_, reject) =>
    setTimeout(
      () => reject(new Error('the submissions hold every connection and wait for another')),
      20_000,
    ).unref(),
  );
  const answers = await Promise.race([Promise.all(submissions), hung]);
  expect(answers.map((res) => res.statusCode)).toEqual([202, 202, 202]);
  for (const res of answers) {
    expect(res.json<{ counts: { pending: number; total: number } }>().counts).toMatchObject({
      pending: 1,
      total: 5_001,
    });
  }
}, 30_000);
