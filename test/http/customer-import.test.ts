import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TypedApp } from '../../src/http/app.ts';
import { WEB_DIR } from '../../src/paths.ts';
import { CUSTOMER_IMPORT_COLUMNS } from '../../src/services/customer-import.service.ts';
import { IMPORT_COLUMNS } from '../../src/services/device-import.service.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestApp } from '../helpers/app.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * Issue 11, item 5: customers from a CSV file. A valid file creates each customer with its default
 * site; one bad row refuses the file with every row's problems and writes nothing; importing again
 * creates nothing twice; a Rev.io row names one of the tenant's own Rev.io accounts; admins only.
 */

type Headers = { authorization: string };
interface ErrorBody {
  error: { code: string; message: string; details?: { path: string; message: string }[] };
}

let database: TestDatabase;
let app: TypedApp;
let admin: Headers;
let operator: Headers;
let viewer: Headers;
let northwind: number;
/** Northwind's Rev.io account, and Contoso's (another tenant's). */
let revAccount: { id: number; name: string };
let contosoRevAccount: number;

const HEADER = 'name,kind,rev_customer_id,rev_account,site_name,site_address';
const sql = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];
/** Customers and sites of every tenant: a refused file must leave both as they were. */
const counts = async () =>
  (
    await sql<{ customers: number; sites: number }>(
      'SELECT (SELECT count(*) FROM customer)::int AS customers, (SELECT count(*) FROM site)::int AS sites',
    )
  )[0]!;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedDemoData(database.db, { devices: 50 });
  app = await buildTestApp(database);
  admin = await authHeaders(database.db, 'admin@northwind.example');
  operator = await authHeaders(database.db, 'operator@northwind.example');
  viewer = await authHeaders(database.db, 'viewer@northwind.example');
  const tenants = await sql<{ id: number; slug: string }>('SELECT id, slug FROM tenant');
  northwind = tenants.find((t) => t.slug === 'northwind')!.id;
  const accounts = await sql<{ id: number; name: string; tenant_id: number }>(
    `SELECT id, name, tenant_id FROM integration_credentials WHERE integration = 'revio'`,
  );
  revAccount = accounts.find((a) => a.tenant_id === northwind)!;
  contosoRevAccount = accounts.find((a) => a.tenant_id !== northwind)!.id;
});
afterAll(async () => {
  await app.close();
  await database.drop();
});

const importCsv = (csv: string, headers: Headers = admin) =>
  app.inject({ method: 'POST', url: '/api/v1/customers/import', headers, payload: { csv } });

async function refused(csv: string, status = 400): Promise<ErrorBody['error']> {
  const before = await counts();
  const res = await importCsv(csv);
  expect(res.statusCode, res.body).toBe(status);
  expect(await counts()).toEqual(before);
  return res.json<ErrorBody>().error;
}

const customerNamed = async (name: string) =>
  sql<{ id: number; kind: string; rev_customer_id: number | null; rev_credentials_id: number | null }>(
    'SELECT id, kind, rev_customer_id, rev_credentials_id FROM customer WHERE tenant_id = $1 AND name = $2',
    [northwind, name],
  );

describe('POST /api/v1/customers/import', () => {
  /** A file of two AMOP customers and a Rev.io one (the account is known once the world is seeded). */
  const valid = () =>
    [
      HEADER,
      'Acme Farms,amop,,,North field,1 Desert Road',
      'Globex Sensors,AMOP,,,,',
      `Initech Fleet,rev,7700001,${revAccount.name},Depot,`,
    ].join('\n');

  it('creates each customer with its default site, in the tenant', async () => {
    const before = await counts();
    const res = await importCsv(valid());
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ rows: 3, created: 3, updated: 0, unchanged: 0 });
    expect(await counts()).toEqual({ customers: before.customers + 3, sites: before.sites + 3 });

    const sites = await sql<{ customer: string; kind: string; site: string; address: string | null }>(
      `SELECT c.name AS customer, c.kind, s.name AS site, s.address
       FROM customer c JOIN site s ON s.customer_id = c.id AND s.is_default AND s.tenant_id = c.tenant_id
       WHERE c.tenant_id = $1 AND c.name = ANY($2) ORDER BY c.name`,
      [northwind, ['Acme Farms', 'Globex Sensors', 'Initech Fleet']],
    );
    expect(sites).toEqual([
      { customer: 'Acme Farms', kind: 'amop', site: 'North field', address: '1 Desert Road' },
      { customer: 'Globex Sensors', kind: 'amop', site: 'Headquarters', address: null },
      { customer: 'Initech Fleet', kind: 'rev', site: 'Depot', address: null },
    ]);
    expect(await customerNamed('Initech Fleet')).toEqual([
      expect.objectContaining({ rev_customer_id: 7_700_001, rev_credentials_id: revAccount.id }),
    ]);
    // The customers list (what the assignment form picks from) shows them.
    const list = await app.inject({ method: 'GET', url: '/api/v1/customers?q=Acme%20Farms', headers: admin });
    expect(list.json<{ items: { name: string; defaultSiteId: number | null }[] }>().items).toEqual([
      expect.objectContaining({ name: 'Acme Farms', defaultSiteId: expect.any(Number) as unknown }),
    ]);
  });

  it('creates nothing twice when the same file comes again; a changed Rev.io name is an update', async () => {
    const before = await counts();
    const again = await importCsv(valid());
    expect(again.json()).toEqual({ rows: 3, created: 0, updated: 0, unchanged: 3 });
    expect(await counts()).toEqual(before);

    // An AMOP row matches by name in any case; the Rev.io row by its id, whatever its name.
    const renamed = await importCsv(
      [HEADER, 'ACME FARMS,amop,,,,', `Initech Logistics,rev,7700001,${revAccount.id},,`].join('\n'),
    );
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json()).toEqual({ rows: 2, created: 0, updated: 1, unchanged: 1 });
    expect(await counts()).toEqual(before);
    expect(await customerNamed('Initech Logistics')).toHaveLength(1);
    expect(await customerNamed('Initech Fleet')).toHaveLength(0);
  });

  it('one bad row refuses the file with every problem as /rows/<line>/<column>, writing nothing', async () => {
    const error = await refused(
      [
        HEADER,
        'Hooli Trackers,amop,,,,',
        '',
        ',amop,,,,',
        'Vandelay Imports,vip,,,,',
        'Pied Piper,amop,5,,,',
        'Soylent Metering,rev,,,,',
        'Stark Tags,rev,12ab,Nowhere,,',
      ].join('\n'),
    );
    expect(error.code).toBe('invalid_input');
    expect(error.message).toBe('6 problems in the file: nothing was imported.');
    // Line numbers are the file's (the blank line 3 counts), in its order whichever check found them.
    expect(error.details).toEqual([
      { path: '/rows/4/name', message: 'is required' },
      { path: '/rows/5/kind', message: 'must be amop or rev' },
      { path: '/rows/6/rev_customer_id', message: 'only for kind rev' },
      { path: '/rows/7/rev_customer_id', message: 'is required for a Rev.io customer' },
      { path: '/rows/8/rev_customer_id', message: 'must be a positive whole number' },
      { path: '/rows/8/rev_account', message: 'no Rev.io account "Nowhere"' },
    ]);
    expect(await customerNamed('Hooli Trackers')).toHaveLength(0);
  });

  it('refuses repeats within the file and names that belong to a customer of the other kind', async () => {
    const within = await refused(
      [
        HEADER,
        'Umbrella Labs,amop,,,,',
        'umbrella labs,amop,,,,',
        `Wayne Telemetry,rev,7700002,${revAccount.id},,`,
        `Wayne Remote,rev,7700002,${revAccount.id},,`,
      ].join('\n'),
    );
    expect(within.details).toEqual([
      { path: '/rows/3/name', message: 'repeats line 2' },
      { path: '/rows/5/rev_customer_id', message: 'repeats line 4' },
    ]);

    const acrossKinds = await refused(
      [HEADER, 'Initech Logistics,amop,,,,', `Acme Farms,rev,7700003,${revAccount.id},,`].join('\n'),
    );
    expect(acrossKinds.details?.map((d) => d.path)).toEqual(['/rows/2/name', '/rows/3/name']);
  });

  it("refuses another tenant's Rev.io account, and an account that does not exist", async () => {
    const error = await refused(
      [
        HEADER,
        `Cyberdyne Assets,rev,7700004,${contosoRevAccount},,`,
        'Tyrell Beacons,rev,7700005,Nobody billing,,',
        'Massive Dynamic,amop,,,,',
      ].join('\n'),
    );
    expect(error.details).toEqual([
      { path: '/rows/2/rev_account', message: `no Rev.io account "${contosoRevAccount}"` },
      { path: '/rows/3/rev_account', message: 'no Rev.io account "Nobody billing"' },
    ]);
    expect(await customerNamed('Cyberdyne Assets')).toHaveLength(0);
    expect(await customerNamed('Massive Dynamic')).toHaveLength(0);
  });

  it('uses the Rev.io account by name or id, or the only one when the column is empty', async () => {
    const res = await importCsv(
      [
        HEADER,
        'Oscorp Grid,rev,7700006,,,',
        `Gringotts Vaults,rev,7700007,${revAccount.name.toUpperCase()},,`,
      ].join('\n'),
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ rows: 2, created: 2, updated: 0, unchanged: 0 });
    for (const name of ['Oscorp Grid', 'Gringotts Vaults']) {
      expect((await customerNamed(name))[0]?.rev_credentials_id).toBe(revAccount.id);
    }
  });

  it('refuses a Rev.io id that another account of the tenant bills', async () => {
    const second = await sql<{ id: number }>(
      `INSERT INTO integration_credentials (tenant_id, integration, name, base_url)
       VALUES ($1, 'revio', 'Rev.io second', 'simulator://revio') RETURNING id`,
      [northwind],
    );
    const error = await refused([HEADER, `Oscorp Grid,rev,7700006,Rev.io second,,`].join('\n'));
    expect(error.details).toEqual([
      { path: '/rows/2/rev_account', message: expect.stringContaining('in another account') as unknown },
    ]);
    // With two accounts, an empty rev_account no longer says which.
    const ambiguous = await refused([HEADER, 'Monarch Solar,rev,7700008,,,'].join('\n'));
    expect(ambiguous.details).toEqual([
      { path: '/rows/2/rev_account', message: 'is required: the tenant has several Rev.io accounts' },
    ]);
    await sql('DELETE FROM integration_credentials WHERE id = $1', [second[0]!.id]);
  });

  it('refuses a file that is not a customer file, naming what is wrong', async () => {
    expect((await refused('name,kind,credit_limit\nA,amop,5\n')).details).toEqual([
      {
        path: '/csv/header',
        message: expect.stringContaining('unknown: credit_limit') as unknown,
      },
    ]);
    expect((await refused('name,site_name\nA,B\n')).details?.[0]?.message).toContain('missing: kind');
    expect((await refused(`${HEADER}\n`)).message).toBe('The file has no customer rows.');
    expect((await refused('name,kind\n"A,amop\n')).details?.[0]?.path).toBe('/csv');
    expect((await refused(`${HEADER}\n${'A'.repeat(201)},amop,,,,\n`)).details).toEqual([
      { path: '/rows/2/name', message: 'must be at most 200 printable characters' },
    ]);
    const many = [HEADER, ...Array.from({ length: 10_001 }, (_, i) => `Bulk ${i},amop,,,,`)].join('\n');
    expect((await refused(many, 413)).message).toContain('At most 10,000 customers per file');
  });

  it('is for administrators only', async () => {
    const before = await counts();
    for (const headers of [operator, viewer]) {
      const res = await importCsv([HEADER, 'Forbidden Fruit,amop,,,,'].join('\n'), headers);
      expect(res.statusCode, res.body).toBe(403);
    }
    const anonymous = await app.inject({
      method: 'POST',
      url: '/api/v1/customers/import',
      payload: { csv: `${HEADER}\nForbidden Fruit,amop,,,,` },
    });
    expect(anonymous.statusCode).toBe(401);
    expect(await counts()).toEqual(before);
  });
});

describe("the Import screen's templates", () => {
  it('have the header rows the imports read', () => {
    const header = (file: string) => readFileSync(path.join(WEB_DIR, 'templates', file), 'utf8');
    expect(header('customers.csv')).toBe(`${CUSTOMER_IMPORT_COLUMNS.join(',')}\n`);
    expect(header('devices.csv')).toBe(`${IMPORT_COLUMNS.join(',')}\n`);
  });
});
