import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SECRETS } from '../../src/db/repositories/seed.repository.ts';
import { luhnCheckDigit } from '../../src/services/identifiers.ts';
import { createSecretBox, generateSecretKey, parseSecretKey } from '../../src/services/secret-box.ts';
import type { SyncRunView } from '../../src/services/sync.service.ts';
import { authHeaders } from '../helpers/auth.ts';
import { loadFleet, type Fleet } from '../helpers/fleet.ts';
import { createWorld, type World } from '../helpers/world.ts';

/**
 * Issue 11, item 5: the fleet and the customers synced from the partners through the API, run by
 * the worker: a first full run, then incremental ones that bring only what changed; counts that say
 * what was written; what simbind manages (ownership, customer plans, sites) left alone; one open
 * run per target; refusals that change nothing; a partner that refuses ends the run FAILED saying why.
 */

let world: World;
let fleet: Fleet;
let admin: Record<string, string>;
let jasperAccount: number;
let revioAccount: number;

beforeAll(async () => {
  // Sealed secrets, as in production (`SECRETS_KEY`): the test changes an account's key.
  world = await createWorld({
    devices: 200,
    secretBox: createSecretBox({ current: parseSecretKey(generateSecretKey()) }),
  });
  fleet = await loadFleet(world.database.pool);
  admin = await authHeaders(world.database.db, 'admin@northwind.example');
  const account = async (integration: string) =>
    (
      await world.database.pool.query<{ id: number }>(
        `SELECT id::int FROM integration_credentials WHERE tenant_id = $1 AND integration = $2 ORDER BY id LIMIT 1`,
        [fleet.tenantId, integration],
      )
    ).rows[0]!.id;
  jasperAccount = await account('jasper');
  revioAccount = await account('revio');
}, 120_000);
afterAll(async () => {
  await world?.close();
});

const sql = async <T>(text: string, values: unknown[] = []) =>
  (await world.database.pool.query(text, values)).rows as T[];

/** ICCIDs with a valid check digit, in a range the demo fleet does not use. */
const iccids = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => {
    const body = `891480555${String(from + i).padStart(9, '0')}`;
    return `${body}${luhnCheckDigit(body)}`;
  });

async function seedJasper(devices: Record<string, unknown>[]) {
  const res = await world.sims.jasper.inject({ method: 'POST', url: '/__sim/devices', payload: devices });
  expect(res.statusCode, res.body).toBe(200);
}

async function startSync(url: string, body?: Record<string, unknown>, headers = admin) {
  return world.app.inject({
    method: 'POST',
    url: `/api/v1${url}`,
    headers,
    ...(body ? { payload: body } : {}),
  });
}

async function finished(id: number): Promise<SyncRunView> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const run = (
      await world.app.inject({ method: 'GET', url: `/api/v1/sync-runs/${id}`, headers: admin })
    ).json<SyncRunView>();
    if (run.status === 'SUCCEEDED' || run.status === 'FAILED') return run;
    if (Date.now() > deadline) throw new Error(`sync run ${id} still ${run.status}: ${JSON.stringify(run)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function syncJasper(mode?: 'full' | 'incremental'): Promise<SyncRunView> {
  const res = await startSync(`/service-providers/${fleet.jasper}/sync`, mode ? { mode } : undefined);
  expect(res.statusCode, res.body).toBe(202);
  return finished(res.json<SyncRunView>().id);
}

const deviceCount = async () =>
  (
    await sql<{ n: number }>('SELECT count(*)::int AS n FROM device WHERE service_provider_id = $1', [
      fleet.jasper,
    ])
  )[0]!.n;

describe("a service provider's devices, synced from Control Center", () => {
  it('loads the account on the first (full) run and then brings only what changed', async () => {
    const fresh = iccids(1_000);
    // One device the sync cannot store: not an ICCID (a carrier's test SIM, say).
    await seedJasper([
      ...fresh.map((iccid, i) => ({
        iccid,
        status: i % 10 === 0 ? 'INVENTORY' : 'ACTIVATED',
        ratePlan: fleet.jasperPlan.code,
      })),
      { iccid: '12345', status: 'ACTIVATED' },
    ]);
    const before = await deviceCount();
    const listed = (await world.sims.jasper.inject({ method: 'GET', url: '/__sim/state' })).json<{
      devices: unknown[];
    }>().devices.length;

    const first = await syncJasper();
    expect(first).toMatchObject({ kind: 'devices', mode: 'full', status: 'SUCCEEDED', error: null });
    expect(first.counts).toMatchObject({ seen: listed, skipped: 1, gone: null });
    expect(first.counts.pages).toBe(Math.ceil(listed / 50));
    expect(await deviceCount()).toBe(before + first.counts.created);
    expect(first.counts.created).toBeGreaterThanOrEqual(1_000);
    const stored = await sql<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM device WHERE iccid = ANY($1) GROUP BY status ORDER BY status`,
      [fresh],
    );
    expect(stored).toEqual([
      { status: 'active', n: 900 },
      { status: 'inventory', n: 100 },
    ]);

    // Five devices change at the carrier; the next run asks only for changes since the last.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await seedJasper(
      fresh
        .slice(0, 5)
        .map((iccid) => ({ iccid, status: 'DEACTIVATED', dateUpdated: new Date().toISOString() })),
    );
    const second = await syncJasper();
    expect(second).toMatchObject({ mode: 'incremental', status: 'SUCCEEDED' });
    expect(second.counts.created).toBe(0);
    expect(second.counts.changed).toBe(5);
    expect(new Date(second.since!).getTime()).toBeGreaterThan(new Date(first.since!).getTime());
    const deactivated = await sql<{ iccid: string }>(
      `SELECT iccid FROM device WHERE iccid = ANY($1) AND status = 'deactivated' ORDER BY iccid`,
      [fresh],
    );
    expect(deactivated.map((d) => d.iccid)).toEqual(fresh.slice(0, 5));
  });

  it('never touches what simbind manages: ownership and customer plans stay', async () => {
    const [owned] = await sql<{ id: number; iccid: string }>(
      `SELECT d.id, d.iccid FROM device d JOIN device_tenant dt ON dt.device_id = d.id
       WHERE d.service_provider_id = $1 ORDER BY d.id LIMIT 1`,
      [fleet.jasper],
    );
    const ownership = () =>
      sql(
        'SELECT customer_id, site_id, customer_rate_plan_id, is_active FROM device_tenant WHERE device_id = $1',
        [owned!.id],
      );
    const held = await ownership();
    await seedJasper([{ iccid: owned!.iccid, status: 'ACTIVATED', ratePlan: 'IoT Pooled 1GB' }]);
    const run = await syncJasper();
    expect(run.counts.changed).toBeGreaterThanOrEqual(1);
    expect(await ownership()).toEqual(held);
    const [device] = await sql<{ carrier_rate_plan: string }>(
      'SELECT carrier_rate_plan FROM device WHERE id = $1',
      [owned!.id],
    );
    expect(device!.carrier_rate_plan).toBe('IoT Pooled 1GB');
  });

  it('keeps one open run per provider: a second request answers the run already queued', async () => {
    const [a, b] = await Promise.all([
      startSync(`/service-providers/${fleet.jasper}/sync`),
      startSync(`/service-providers/${fleet.jasper}/sync`),
    ]);
    expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
    expect(a.json<SyncRunView>().id).toBe(b.json<SyncRunView>().id);
    await finished(a.json<SyncRunView>().id);
  });

  it('ends FAILED, saying why, when Control Center refuses the credentials', async () => {
    const apply = (apiKey: string) =>
      world.app.inject({
        method: 'PATCH',
        url: `/api/v1/integrations/${jasperAccount}`,
        headers: admin,
        payload: { secrets: { apiKey } },
      });
    expect((await apply('not-the-key')).statusCode).toBe(200);
    try {
      const run = await syncJasper();
      expect(run.status).toBe('FAILED');
      expect(run.error).toMatch(/jasper 401/);
      expect(run.attempts).toBe(1);
    } finally {
      expect((await apply(DEMO_SECRETS.jasper.apiKey)).statusCode).toBe(200);
    }
  });
});

describe("a service provider's devices, synced from ThingSpace", () => {
  const seedThingSpace = async (devices: Record<string, unknown>[]) => {
    const res = await world.sims.thingspace.inject({
      method: 'POST',
      url: '/__sim/devices',
      payload: devices,
    });
    expect(res.statusCode, res.body).toBe(200);
  };
  const syncThingSpace = async (body?: Record<string, unknown>) => {
    const res = await startSync(`/service-providers/${fleet.thingspace}/sync`, body);
    expect(res.statusCode, res.body).toBe(202);
    return finished(res.json<SyncRunView>().id);
  };
  const providerDevices = async () =>
    (
      await sql<{ n: number }>('SELECT count(*)::int AS n FROM device WHERE service_provider_id = $1', [
        fleet.thingspace,
      ])
    )[0]!.n;

  it('reads the whole account page by page, brings what changed, and counts what it no longer lists', async () => {
    const account = (
      await sql<{ account: string }>(
        "SELECT settings->>'accountName' AS account FROM integration_credentials ic JOIN service_provider sp ON sp.credentials_id = ic.id WHERE sp.id = $1",
        [fleet.thingspace],
      )
    )[0]!.account;
    const fresh = iccids(1_234, 500_000);
    await seedThingSpace([
      ...fresh.map((iccid, i) => ({
        accountName: account,
        iccid,
        servicePlan: fleet.thingspacePlan,
        state: i % 4 === 0 ? 'preactive' : 'active',
        mdn: `1555${String(i).padStart(6, '0')}`,
      })),
      // Another account's devices are not listed.
      ...iccids(30, 600_000).map((iccid) => ({ accountName: 'SomeoneElse-ACCT', iccid, servicePlan: 'X' })),
    ]);
    const listed = (await world.sims.thingspace.inject({ method: 'GET', url: '/__sim/state' }))
      .json<{ devices: { accountName: string }[] }>()
      .devices.filter((d) => d.accountName === account).length;
    const before = await providerDevices();

    // A request for an incremental run is read whole: ThingSpace has no "changed since".
    const first = await syncThingSpace({ mode: 'incremental' });
    expect(first).toMatchObject({ kind: 'devices', mode: 'full', status: 'SUCCEEDED', error: null });
    expect(first.counts).toMatchObject({ seen: listed, skipped: 0, pages: Math.ceil(listed / 500) });
    expect(await providerDevices()).toBe(before + first.counts.created);
    expect(first.counts.created).toBeGreaterThanOrEqual(1_234);
    // Known to simbind (the demo fleet) and not in the account's list: counted as gone, kept.
    const [current] = await sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM device WHERE service_provider_id = $1 AND NOT is_archived',
      [fleet.thingspace],
    );
    expect(first.counts.gone).toBe(current!.n - listed);
    expect(first.counts.gone).toBeGreaterThan(0);
    const stored = await sql<{ status: string; n: number; numbered: number }>(
      `SELECT status, count(*)::int AS n, count(msisdn)::int AS numbered FROM device
       WHERE service_provider_id = $1 AND iccid = ANY($2) GROUP BY status ORDER BY status`,
      [fleet.thingspace, fresh],
    );
    expect(stored).toEqual([
      { status: 'active', n: 925, numbered: 925 },
      { status: 'inventory', n: 309, numbered: 309 },
    ]);

    await seedThingSpace(
      fresh
        .slice(0, 3)
        .map((iccid) => ({ accountName: account, iccid, servicePlan: 'M2M-5GB', state: 'suspend' })),
    );
    const second = await syncThingSpace();
    expect(second).toMatchObject({ mode: 'full', status: 'SUCCEEDED' });
    expect(second.counts).toMatchObject({ seen: listed, created: 0, changed: 3, gone: first.counts.gone });
    const changed = await sql<{ iccid: string; status: string; carrier_rate_plan: string }>(
      `SELECT iccid, status, carrier_rate_plan FROM device WHERE service_provider_id = $1 AND iccid = ANY($2)
       AND status = 'suspended' ORDER BY iccid`,
      [fleet.thingspace, fresh],
    );
    expect(changed).toEqual(
      fresh.slice(0, 3).map((iccid) => ({ iccid, status: 'suspended', carrier_rate_plan: 'M2M-5GB' })),
    );
  });
});

describe("a Rev.io account's customers, synced", () => {
  it('creates each new customer with its default site, then changes only what Rev.io changed', async () => {
    const seeds = Array.from({ length: 200 }, (_, i) => ({
      customer_id: 80_000 + i,
      name: `Synced Customer ${i}`,
      status: i % 50 === 0 ? 'CLOSED' : 'ACTIVE',
    }));
    const seeded = await world.sims.revio.inject({ method: 'POST', url: '/__sim/customers', payload: seeds });
    expect(seeded.statusCode, seeded.body).toBe(200);

    const start = await startSync(`/integrations/${revioAccount}/sync`);
    expect(start.statusCode, start.body).toBe(202);
    const first = await finished(start.json<SyncRunView>().id);
    expect(first).toMatchObject({ kind: 'customers', mode: 'full', status: 'SUCCEEDED', error: null });
    expect(first.counts.created).toBe(200);
    const rows = await sql<{ n: number; sites: number; inactive: number }>(
      `SELECT count(*)::int AS n, count(s.id)::int AS sites, count(*) FILTER (WHERE NOT c.active)::int AS inactive
       FROM customer c LEFT JOIN site s ON s.customer_id = c.id AND s.is_default
       WHERE c.tenant_id = $1 AND c.rev_customer_id BETWEEN 80000 AND 80199`,
      [fleet.tenantId],
    );
    expect(rows[0]).toEqual({ n: 200, sites: 200, inactive: 4 });

    await world.sims.revio.inject({
      method: 'POST',
      url: '/__sim/customers',
      payload: [{ ...seeds[7]!, name: 'Renamed In Rev.io' }],
    });
    const again = await startSync(`/integrations/${revioAccount}/sync`);
    const second = await finished(again.json<SyncRunView>().id);
    expect(second).toMatchObject({ status: 'SUCCEEDED', counts: { created: 0, changed: 1 } });
    const [renamed] = await sql<{ name: string }>(
      'SELECT name FROM customer WHERE tenant_id = $1 AND rev_customer_id = 80007',
      [fleet.tenantId],
    );
    expect(renamed!.name).toBe('Renamed In Rev.io');
  });
});

describe('refusals change nothing', () => {
  it('answers 422 for a provider without a carrier account and for a non-Rev.io account, 404 for another tenant, 403 for an operator', async () => {
    // A provider left without its account (the API always links one; older data may not).
    const [unlinked] = await sql<{ id: number }>(
      `INSERT INTO service_provider (tenant_id, name, integration, portal_type)
       VALUES ($1, 'Carrier without an account', 'jasper', 'm2m') RETURNING id::int`,
      [fleet.tenantId],
    );
    const runs = async () => (await sql<{ n: number }>('SELECT count(*)::int AS n FROM sync_run'))[0]!.n;
    const before = await runs();
    const refused = await startSync(`/service-providers/${unlinked!.id}/sync`);
    expect(refused.statusCode, refused.body).toBe(422);
    expect(refused.json<{ error: { message: string } }>().error.message).toMatch(/no carrier account/);
    expect((await startSync(`/integrations/${jasperAccount}/sync`)).statusCode).toBe(422);
    const contoso = await authHeaders(world.database.db, 'admin@contoso.example');
    expect((await startSync(`/service-providers/${fleet.jasper}/sync`, undefined, contoso)).statusCode).toBe(
      404,
    );
    expect((await startSync(`/integrations/${revioAccount}/sync`, undefined, contoso)).statusCode).toBe(404);
    const operator = await authHeaders(world.database.db, 'operator@northwind.example');
    expect((await startSync(`/service-providers/${fleet.jasper}/sync`, undefined, operator)).statusCode).toBe(
      403,
    );
    expect(
      (await startSync(`/service-providers/${fleet.jasper}/sync`, { mode: 'sometimes' })).statusCode,
    ).toBe(400);
    expect((await startSync(`/service-providers/${fleet.jasper}/sync`, { force: true })).statusCode).toBe(
      400,
    );
    expect(await runs()).toBe(before);
    const list = await world.app.inject({ method: 'GET', url: '/api/v1/sync-runs', headers: contoso });
    expect(list.json<{ items: unknown[] }>().items).toEqual([]);
  });
});
