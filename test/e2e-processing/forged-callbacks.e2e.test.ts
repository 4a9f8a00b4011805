import { createHash } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_THINGSPACE_ACCOUNT } from '../../src/db/repositories/seed.repository.ts';
import { createServices } from '../../src/wiring.ts';
import { authHeaders } from '../helpers/auth.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';
import { createWorld, waitForFinish, type World } from '../helpers/world.ts';

/**
 * Security review, issue 18: ThingSpace callbacks cannot be signed, so the URL's token is all
 * that authenticates one. Reproduced here, unauthenticated, through the real HTTP route: a forged
 * callback through another tenant's URL or the old installation-wide token, a forged `Failed` with
 * the account's own URL, and a result planted before the wait is recorded must change nothing; a
 * real failure from ThingSpace still ends the device ERROR, and "retry failed" can retry it.
 */

/** Contoso gets a ThingSpace account of its own (the demo seeds every tenant with the same one). */
const CONTOSO_ACCOUNT = '0000654321-00001';
const LEGACY_TOKEN = 'legacy-installation-wide-token-0123456789';
/** Not the demo devices' plan (they start on the provider's first), so a change shows. */
const TARGET_PLAN = 'M2M-5GB-SHR';
/** Held by the test to stop the worker just before it records a wait (see the trigger below). */
const HOLD_KEY = 180_018;

let world: World;
let fleet: Fleet;
let admin: { authorization: string };
/** The callback paths simbind registered at ThingSpace for northwind (A) and contoso (B). */
let pathA: string;
let pathB: string;

const q = async <T>(text: string, values: unknown[] = []) =>
  (await world.database.pool.query(text, values)).rows as T[];

beforeAll(async () => {
  world = await createWorld({ devices: 2000 });
  fleet = await loadFleet(world.database.pool);
  admin = await authHeaders(world.database.db, 'admin@northwind.example');
  const credentialsOf = async (slug: string) =>
    (
      await q<{ id: number }>(
        `SELECT c.id FROM integration_credentials c JOIN tenant t ON t.id = c.tenant_id
         WHERE t.slug = $1 AND c.integration = 'thingspace'`,
        [slug],
      )
    )[0]!.id;
  const northwind = await credentialsOf('northwind');
  const contoso = await credentialsOf('contoso');
  await q(
    `UPDATE integration_credentials SET settings = jsonb_set(settings, '{accountName}', to_jsonb($2::text)) WHERE id = $1`,
    [contoso, CONTOSO_ACCOUNT],
  );
  // What an installation upgraded from the single-token version still has, and what its old URL carries.
  await q(
    `INSERT INTO app_setting (key, value) VALUES ('thingspace_callback_token', $1)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
    [LEGACY_TOKEN],
  );
  await world.services.carrierCallbacks.ensureRegistered(northwind);
  await world.services.carrierCallbacks.ensureRegistered(contoso);
  const callbacks = (await simState()).callbacks;
  const pathOf = (account: string) => {
    const found = callbacks.find((c) => c.accountName === account && c.name === 'CarrierService');
    if (!found) throw new Error(`no callback registered for ${account}: ${JSON.stringify(callbacks)}`);
    return new URL(found.url).pathname;
  };
  pathA = pathOf(DEMO_THINGSPACE_ACCOUNT);
  pathB = pathOf(CONTOSO_ACCOUNT);
}, 120_000);
afterAll(async () => {
  await world?.close();
});

interface SimState {
  callbacks: { accountName: string; name: string; url: string }[];
  requests: { requestId: string; iccids: string[]; status: string }[];
  deliveries: { requestId: string; url: string; status?: number }[];
}

async function simState(): Promise<SimState> {
  return (await world.sims.thingspace.inject({ method: 'GET', url: '/__sim/state' })).json<SimState>();
}

const settle = (mode: 'auto' | 'never' | 'now') =>
  world.sims.thingspace.inject({ method: 'POST', url: '/__sim/plan-changes', payload: { settle: mode } });

/** What anyone on the internet can send: no cookie, no bearer token, only a URL and a body. */
async function forge(path: string, iccid: string, requestId: string, status: 'Success' | 'Failed') {
  const res = await world.app.inject({
    method: 'POST',
    url: path,
    payload: {
      requestId,
      deviceIds: [{ kind: 'iccid', id: iccid }],
      status,
      ...(status === 'Failed'
        ? { faultResponse: { faultcode: 'ServicePlanChange.DeviceNotActive', faultstring: 'forged' } }
        : {}),
    },
  });
  return {
    status: res.statusCode,
    applied: res.statusCode === 200 ? res.json<{ applied: number }>().applied : -1,
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function submit(iccid: string): Promise<number> {
  const res = await postAssignment(world.app, admin, {
    serviceProviderId: fleet.thingspace,
    customerId: fleet.amopCustomer.id,
    devices: [iccid],
    addCarrierRatePlan: true,
    carrierRatePlan: { ratePlan: TARGET_PLAN },
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ id: number }>().id;
}

/** Submits a plan change for one device and waits until it waits for ThingSpace. */
async function submitWaiting(): Promise<{ id: number; iccid: string; requestId: string }> {
  const [iccid] = await freeDevices(world.database.pool, fleet.thingspace, 1);
  const id = await submit(iccid!);
  const requestId = await waitFor('the device waiting for ThingSpace', async () => {
    const [row] = await workOrder(id);
    return row?.status === 'WAITING_CARRIER' ? row.carrier_request_id : undefined;
  });
  return { id, iccid: iccid!, requestId };
}

const workOrder = (id: number) =>
  q<{
    status: string;
    error_category: string | null;
    retryable: boolean;
    message: string | null;
    carrier_request_id: string;
  }>(
    `SELECT status, error_category, retryable, message, carrier_request_id FROM bulk_change_device
     WHERE bulk_change_id = $1`,
    [id],
  );

const confirmations = (id: number) =>
  q<{ processed_by: string; response_status: string }>(
    `SELECT processed_by, response_status FROM change_log WHERE bulk_change_id = $1 AND description LIKE '%(confirmed)'`,
    [id],
  );

const statusCalls = async (requestId: string) =>
  (
    await world.sims.thingspace.inject({
      method: 'GET',
      url: `/__sim/requests?path=/api/m2m/v1/accounts/`,
    })
  )
    .json<{ method: string; path: string }[]>()
    .filter((r) => r.method === 'GET' && r.path.endsWith(`/requests/${requestId}/status`));

const devicePlan = async (iccid: string) =>
  (
    await q<{ plan: string | null }>('SELECT carrier_rate_plan AS plan FROM device WHERE iccid = $1', [iccid])
  )[0]?.plan;

describe('a forged ThingSpace callback', () => {
  it('through the old installation-wide token URL is refused', async () => {
    const res = await world.app.inject({
      method: 'POST',
      url: `/api/v1/carrier-callbacks/thingspace/${LEGACY_TOKEN}`,
      payload: { requestId: 'any', deviceIds: [], status: 'Success' },
    });
    expect(res.statusCode).toBe(404);
    expect(pathA).not.toContain(LEGACY_TOKEN);
    expect(pathA).not.toBe(pathB);
  });

  it("through another tenant's URL leaves the waiting device untouched; the real result still applies", async () => {
    await settle('never');
    const { id, iccid, requestId } = await submitWaiting();
    expect(await devicePlan(iccid)).toBe(fleet.thingspacePlan);
    expect(fleet.thingspacePlan).not.toBe(TARGET_PLAN);

    expect(await forge(pathB, iccid, requestId, 'Failed')).toEqual({ status: 200, applied: 0 });
    expect(await forge(pathB, iccid, requestId, 'Success')).toEqual({ status: 200, applied: 0 });
    expect(
      (await forge(`/api/v1/carrier-callbacks/thingspace/${LEGACY_TOKEN}`, iccid, requestId, 'Failed'))
        .status,
    ).toBe(404);
    expect(await workOrder(id)).toMatchObject([
      { status: 'WAITING_CARRIER', retryable: false, message: null },
    ]);
    expect(await confirmations(id)).toEqual([]);

    await settle('now');
    expect(await waitForFinish(world, id, 30_000)).toBe('PROCESSED');
    expect(await confirmations(id)).toEqual([
      { processed_by: 'thingspace-callback', response_status: 'Success' },
    ]);
    expect(await devicePlan(iccid)).toBe(TARGET_PLAN);
  }, 60_000);

  it("with the account's own URL, a Failed for a request ThingSpace still has Pending is not applied", async () => {
    await settle('never');
    const { id, iccid, requestId } = await submitWaiting();

    expect(await forge(pathA, iccid, requestId, 'Failed')).toEqual({ status: 200, applied: 0 });
    expect(await workOrder(id)).toMatchObject([{ status: 'WAITING_CARRIER', message: null }]);
    // simbind asked ThingSpace itself before believing the failure
    expect(await statusCalls(requestId)).toHaveLength(1);

    await settle('now');
    expect(await waitForFinish(world, id, 30_000)).toBe('PROCESSED');
    expect(await devicePlan(iccid)).toBe(TARGET_PLAN);
  }, 60_000);

  it('planted before the wait is recorded cannot pre-empt the real result', async () => {
    await settle('never');
    const [iccid] = (await freeDevices(world.database.pool, fleet.thingspace, 1)) as [string];
    // The worker stops just before recording this device's wait, until the test lets it go: the
    // moment a result can only go to the inbox.
    await q(`
      CREATE FUNCTION hold_wait() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_advisory_xact_lock_shared(${HOLD_KEY}); RETURN NEW; END $$;
      CREATE TRIGGER hold_wait BEFORE UPDATE ON bulk_change_device FOR EACH ROW
        WHEN (NEW.status = 'WAITING_CARRIER' AND OLD.status <> 'WAITING_CARRIER' AND NEW.iccid = '${iccid}')
        EXECUTE FUNCTION hold_wait();
    `);
    const holder: pg.PoolClient = await world.database.pool.connect();
    let held = true;
    const release = async () => {
      if (!held) return;
      held = false;
      await holder.query('SELECT pg_advisory_unlock($1)', [HOLD_KEY]);
      holder.release();
    };
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [HOLD_KEY]);
      const id = await submit(iccid);
      const requestId = await waitFor(
        'the plan change sent to ThingSpace',
        async () => (await simState()).requests.find((r) => r.iccids.includes(iccid))?.requestId,
      );

      // Planted: through the other tenant's URL, and a Failed through the account's own.
      expect(await forge(pathB, iccid, requestId, 'Failed')).toEqual({ status: 200, applied: 0 });
      expect(await forge(pathA, iccid, requestId, 'Failed')).toEqual({ status: 200, applied: 0 });
      // The real result arrives, still before the wait is recorded.
      await settle('now');
      await waitFor('the real callback delivered', async () =>
        (await simState()).deliveries.find((d) => d.requestId === requestId && d.status === 200),
      );
      expect(await workOrder(id)).toMatchObject([{ status: 'PROCESSING' }]);

      await release();
      expect(await waitForFinish(world, id, 30_000)).toBe('PROCESSED');
      expect(await workOrder(id)).toMatchObject([{ status: 'PROCESSED', message: null }]);
      expect(await confirmations(id)).toEqual([
        { processed_by: 'thingspace-callback', response_status: 'Success' },
      ]);
      expect(await devicePlan(iccid)).toBe(TARGET_PLAN);
    } finally {
      await release();
      await q('DROP TRIGGER IF EXISTS hold_wait ON bulk_change_device');
      await q('DROP FUNCTION IF EXISTS hold_wait()');
    }
  }, 60_000);
});

describe('a real failure from ThingSpace', () => {
  it('ends the device ERROR / integration, retryable; once fixed at the carrier, retry failed finishes it', async () => {
    await settle('auto');
    const [iccid] = (await freeDevices(world.database.pool, fleet.thingspace, 1)) as [string];
    const seedDevice = (state: 'active' | 'suspend') =>
      world.sims.thingspace.inject({
        method: 'POST',
        url: '/__sim/devices',
        payload: [{ accountName: DEMO_THINGSPACE_ACCOUNT, iccid, servicePlan: 'M2M-25MB', state }],
      });
    await seedDevice('suspend');

    const id = await submit(iccid);
    expect(await waitForFinish(world, id, 30_000)).toBe('ERROR');
    const [row] = await workOrder(id);
    expect(row).toMatchObject({ status: 'ERROR', error_category: 'integration', retryable: true });
    expect(row!.message).toMatch(/^ThingSpace plan change failed: Device \d+ is in state 'suspend'/);
    expect(await confirmations(id)).toEqual([
      { processed_by: 'thingspace-callback', response_status: 'Failed' },
    ]);
    // the failure was confirmed with ThingSpace's status call before it was applied
    expect(await statusCalls(row!.carrier_request_id)).toHaveLength(1);

    await seedDevice('active');
    const retry = await world.app.inject({
      method: 'POST',
      url: `/api/v1/bulk-changes/${id}/retry`,
      headers: admin,
    });
    expect(retry.statusCode, retry.body).toBe(202);
    expect(await waitForFinish(world, id, 30_000)).toBe('PROCESSED');
    expect(await devicePlan(iccid)).toBe(TARGET_PLAN);
  }, 60_000);
});

describe('the callback token', () => {
  it('is stored as its SHA-256 only; a new registration replaces it, the old URL working for a grace period', async () => {
    const tokenOf = (path: string) => path.split('/').at(-1)!;
    const sha256 = (text: string) => createHash('sha256').update(text).digest();
    const [stored] = await q<{ id: number; hash: Buffer; everything: string }>(
      `SELECT c.id, t.token_hash AS hash,
              (SELECT string_agg(x::text, ' ') FROM integration_credentials x) ||
              (SELECT string_agg(x::text, ' ') FROM carrier_callback_token x) ||
              (SELECT string_agg(value, ' ') FROM app_setting) AS everything
       FROM integration_credentials c JOIN carrier_callback_token t ON t.credentials_id = c.id
       WHERE c.settings->>'accountName' = $1 AND c.integration = 'thingspace'`,
      [DEMO_THINGSPACE_ACCOUNT],
    );
    expect(stored!.hash.equals(sha256(tokenOf(pathA)))).toBe(true);
    expect(stored!.everything).not.toContain(tokenOf(pathA));

    // Another process (a worker starting) registers the account again, with a token of its own.
    const other = createServices({
      config: world.config,
      database: world.database,
      queue: world.queue,
      resolveBaseUrl: (url) => world.simUrls[url.slice('simulator://'.length) as keyof World['simUrls']],
    });
    await other.carrierCallbacks.ensureRegistered(stored!.id);
    const registered = (await simState()).callbacks.find((c) => c.accountName === DEMO_THINGSPACE_ACCOUNT)!;
    const newPath = new URL(registered.url).pathname;
    expect(newPath).not.toBe(pathA);

    const probe = (path: string) =>
      world.app
        .inject({
          method: 'POST',
          url: path,
          payload: { requestId: 'none', deviceIds: [], status: 'Success' },
        })
        .then((res) => res.statusCode);
    expect(await probe(newPath)).toBe(200);
    expect(await probe(pathA)).toBe(200);
    await q(
      "UPDATE carrier_callback_token SET rotated_at = now() - interval '11 minutes' WHERE credentials_id = $1",
      [stored!.id],
    );
    expect(await probe(pathA)).toBe(404);
    expect(await probe(newPath)).toBe(200);
  });
});
