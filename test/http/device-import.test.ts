import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TypedApp } from '../../src/http/app.ts';
import { luhnCheckDigit } from '../../src/services/identifiers.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestApp } from '../helpers/app.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * Issue 11, item 5: devices from a CSV file, read by the CSV reader the customer import shares
 * (csv-import.ts): problems named by the file's own line numbers, nothing written on refusal.
 */

let database: TestDatabase;
let app: TypedApp;
let admin: { authorization: string };
let provider: number;

const iccid = (n: number) => {
  const body = `891480000077${String(n).padStart(6, '0')}`;
  return body + luhnCheckDigit(body);
};
const deviceCount = async () =>
  (await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM device')).rows[0]!.n;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 50 });
  app = await buildTestApp(database);
  admin = await authHeaders(database.db, 'admin@northwind.example');
  const { rows } = await database.pool.query<{ id: number }>(
    `SELECT p.id FROM service_provider p JOIN tenant t ON t.id = p.tenant_id
     WHERE t.slug = 'northwind' AND p.integration = 'jasper' ORDER BY p.id LIMIT 1`,
  );
  provider = rows[0]!.id;
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

const importCsv = (csv: string) =>
  app.inject({
    method: 'POST',
    url: `/api/v1/service-providers/${provider}/devices/import`,
    headers: admin,
    payload: { csv },
  });

describe('POST /api/v1/service-providers/:id/devices/import', () => {
  it('names each problem by the line of the file, blank lines counted, and writes nothing', async () => {
    const before = await deviceCount();
    const res = await importCsv(
      ['iccid,msisdn,status', `${iccid(1)},12015550001,active`, '', `${iccid(2)},x,on`, iccid(1)].join('\n'),
    );
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json<{ error: { details: unknown[] } }>().error.details).toEqual([
      { path: '/rows/4/msisdn', message: 'is not an MSISDN (7 to 15 digits)' },
      { path: '/rows/4/status', message: expect.stringContaining('must be one of') as unknown },
      { path: '/rows/5/iccid', message: 'repeats line 2' },
    ]);
    expect(await deviceCount()).toBe(before);
  });

  it('refuses a header without iccid, naming the expected columns', async () => {
    const res = await importCsv('msisdn\n12015550001\n');
    expect(res.statusCode).toBe(400);
    expect(res.json<{ error: { details: { path: string; message: string }[] } }>().error.details).toEqual([
      { path: '/csv/header', message: expect.stringContaining('missing: iccid') as unknown },
    ]);
  });

  it('imports a valid file, then finds nothing to change in it again', async () => {
    const file = ['iccid,status', `${iccid(3)},active`, `${iccid(4)},inventory`].join('\n');
    const first = await importCsv(file);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({ rows: 2, created: 2, updated: 0 });
    expect((await importCsv(file)).json()).toEqual({ rows: 2, created: 0, updated: 0 });
  });
});
