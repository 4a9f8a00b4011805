import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RevioSimState } from '../../simulators/revio.simulator.ts';
import { DEMO_SECRETS } from '../../src/db/repositories/seed.repository.ts';
import { verifySignature } from '../../src/clients/webhook.client.ts';
import { luhnCheckDigit } from '../../src/services/identifiers.ts';
import { createSecretBox, generateSecretKey, parseSecretKey } from '../../src/services/secret-box.ts';
import { createWorld, waitForFinish, type World } from '../helpers/world.ts';

/**
 * Issue 11: a real operator's first day, through the public API only — no SQL, no demo data of its
 * own. A new tenant (as `simbind init` makes it) signs in, creates an operator, adds its Rev.io and
 * Jasper accounts (pointing at the simulators), tests them, adds a service provider, imports its
 * fleet from CSV, adds a Rev.io customer (checked in Rev.io) and an AMOP customer with a site, a
 * customer rate plan, adds a ThingSpace account, syncs 10,000 devices from Control Center, 1,000
 * from ThingSpace and 200 customers from Rev.io, registers a webhook and sends it a test, and then
 * the operator performs a
 * Rev-path assignment that ends PROCESSED with one Rev.io service per device, announced to the
 * webhook signed with the secret shown when it was registered.
 */

const ORIGIN = { origin: 'http://127.0.0.1', 'sec-fetch-site': 'same-origin' };
const NEW_REV_CUSTOMER = 70_001;

let world: World;

beforeAll(async () => {
  world = await createWorld({
    devices: 0,
    secretBox: createSecretBox({ current: parseSecretKey(generateSecretKey()) }),
  });
}, 120_000);
afterAll(async () => {
  await world?.close();
});

/** ICCIDs with a valid check digit, in a range the demo fleet does not use. */
const iccids = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => {
    const body = `891480777${String(from + i).padStart(9, '0')}`;
    return `${body}${luhnCheckDigit(body)}`;
  });

async function signIn(email: string, password: string) {
  const res = await world.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password },
  });
  expect(res.statusCode, res.body).toBe(200);
  const cookie = res.cookies.find((c) => c.name === 'simbind_session')!;
  return { cookie: `${cookie.name}=${cookie.value}`, ...ORIGIN };
}

async function ok<T>(
  method: 'GET' | 'POST' | 'PATCH',
  url: string,
  headers: Record<string, string>,
  payload?: Record<string, unknown>,
  status = method === 'POST' ? 201 : 200,
): Promise<T> {
  const res = await world.app.inject(
    payload === undefined
      ? { method, url: `/api/v1${url}`, headers }
      : { method, url: `/api/v1${url}`, headers, payload },
  );
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(status);
  return (status === 204 ? undefined : res.json<T>()) as T;
}

describe('the first day of a real operator', () => {
  it('goes from a new tenant to a processed Rev-path assignment through the API alone', async () => {
    const init = await world.services.users.initTenant({
      tenantName: 'Acme IoT',
      adminEmail: 'admin@acme.example',
    });
    const admin = await signIn('admin@acme.example', init.initialPassword);
    await ok(
      'POST',
      '/auth/password',
      admin,
      { currentPassword: init.initialPassword, newPassword: 'acme-admin-secret' },
      204,
    );

    // People
    const { user: operatorUser, initialPassword } = await ok<{
      user: { id: number };
      initialPassword: string;
    }>('POST', '/users', admin, { email: 'ops@acme.example', name: 'Olga Ops', role: 'operator' });
    expect(operatorUser.id).toBeGreaterThan(0);

    // Accounts, tested through the real clients
    const revio = await ok<{ id: number }>('POST', '/integrations', admin, {
      integration: 'revio',
      name: 'Acme Rev.io',
      baseUrl: world.simUrls.revio,
      settings: { username: 'simbind', clientCode: 'demo' },
      secrets: { ...DEMO_SECRETS.revio },
    });
    const jasper = await ok<{ id: number }>('POST', '/integrations', admin, {
      integration: 'jasper',
      name: 'Acme Control Center',
      baseUrl: world.simUrls.jasper,
      settings: { username: 'simbind' },
      secrets: { ...DEMO_SECRETS.jasper },
      // The account's contract: the simulator allows 100 a second.
      rateLimit: { requests: 90, windowMs: 1_000, concurrency: 1 },
    });
    for (const id of [revio.id, jasper.id]) {
      expect((await ok<{ ok: boolean }>('POST', `/integrations/${id}/test`, admin, undefined, 200)).ok).toBe(
        true,
      );
    }
    const provider = await ok<{ id: number }>('POST', '/service-providers', admin, {
      name: 'Acme Jasper M2M',
      credentialsId: jasper.id,
      portalType: 'm2m',
    });

    // The fleet, from CSV: one bad line refuses the file and writes nothing; the fixed file imports.
    const fleet = iccids(40);
    const lines = fleet.map((iccid, i) => `${iccid},1201555${String(i).padStart(4, '0')},active,,2026-01-15`);
    const header = 'iccid,msisdn,status,carrier_rate_plan,activated_at';
    const refused = await world.app.inject({
      method: 'POST',
      url: `/api/v1/service-providers/${provider.id}/devices/import`,
      headers: admin,
      payload: { csv: [header, ...lines.slice(0, 5), '8914800000000000001,x,on,,2026-02-30'].join('\n') },
    });
    expect(refused.statusCode, refused.body).toBe(400);
    expect(
      refused.json<{ error: { details: { path: string }[] } }>().error.details.map((d) => d.path),
    ).toEqual(['/rows/7/iccid', '/rows/7/msisdn', '/rows/7/status', '/rows/7/activated_at']);
    const devices = await ok<{ items: unknown[] }>('GET', `/devices?serviceProviderId=${provider.id}`, admin);
    expect(devices.items).toHaveLength(0);
    const imported = await ok(
      'POST',
      `/service-providers/${provider.id}/devices/import`,
      admin,
      {
        csv: [header, ...lines].join('\n'),
      },
      200,
    );
    expect(imported).toEqual({ rows: 40, created: 40, updated: 0 });
    // Importing again changes nothing; a changed status is an update.
    expect(
      await ok(
        'POST',
        `/service-providers/${provider.id}/devices/import`,
        admin,
        {
          csv: [header, ...lines.slice(0, 39), lines[39]!.replace(',active,', ',suspended,')].join('\n'),
        },
        200,
      ),
    ).toEqual({ rows: 40, created: 0, updated: 1 });

    // Customers: a Rev.io customer checked in Rev.io, an unknown one refused; an AMOP one with a site.
    const unknown = await world.app.inject({
      method: 'POST',
      url: '/api/v1/customers',
      headers: admin,
      payload: { name: 'Nobody', kind: 'rev', revCustomerId: 999_404, revCredentialsId: revio.id },
    });
    expect(unknown.statusCode, unknown.body).toBe(422);
    const customer = await ok<{ id: number; defaultSiteId: number }>('POST', '/customers', admin, {
      name: 'Wile E. Logistics',
      kind: 'rev',
      revCustomerId: NEW_REV_CUSTOMER,
      revCredentialsId: revio.id,
    });
    const amop = await ok<{ id: number }>('POST', '/customers', admin, {
      name: 'Road Runner Farms',
      kind: 'amop',
    });
    await ok('POST', `/customers/${amop.id}/sites`, admin, { name: 'North field', address: '1 Desert Road' });
    const plan = await ok<{ id: number }>('POST', '/rate-plans', admin, {
      code: 'ACME-50',
      name: 'Telemetry 50 MB',
      dataAllocationMb: 50,
      monthlyRate: 3.5,
    });

    // The rest of the fleet and the customers, synced from the accounts: 10,000 devices from
    // Control Center, 1,000 from a ThingSpace account (tested through both of its logins), and the
    // Rev.io account's customers (each with a default site).
    const carrierFleet = iccids(10_000, 100_000);
    const seededJasper = await world.sims.jasper.inject({
      method: 'POST',
      url: '/__sim/devices',
      payload: carrierFleet.map((iccid) => ({ iccid, status: 'ACTIVATED', ratePlan: 'IoT Basic 1MB' })),
    });
    expect(seededJasper.statusCode, seededJasper.body).toBe(200);
    const thingspace = await ok<{ id: number }>('POST', '/integrations', admin, {
      integration: 'thingspace',
      name: 'Acme ThingSpace',
      baseUrl: world.simUrls.thingspace,
      settings: { username: 'simbind', accountName: 'ACME-0000001' },
      secrets: { ...DEMO_SECRETS.thingspace },
    });
    expect(
      (await ok<{ ok: boolean }>('POST', `/integrations/${thingspace.id}/test`, admin, undefined, 200)).ok,
    ).toBe(true);
    const tsProvider = await ok<{ id: number }>('POST', '/service-providers', admin, {
      name: 'Acme Verizon M2M',
      credentialsId: thingspace.id,
      portalType: 'm2m',
    });
    const tsFleet = iccids(1_000, 200_000);
    const seededTs = await world.sims.thingspace.inject({
      method: 'POST',
      url: '/__sim/devices',
      payload: tsFleet.map((iccid) => ({ accountName: 'ACME-0000001', iccid, servicePlan: 'M2M-1GB-SHR' })),
    });
    expect(seededTs.statusCode, seededTs.body).toBe(200);
    const seededCustomers = await world.sims.revio.inject({
      method: 'POST',
      url: '/__sim/customers',
      payload: Array.from({ length: 200 }, (_, i) => ({ customer_id: 71_000 + i, name: `Acme client ${i}` })),
    });
    expect(seededCustomers.statusCode, seededCustomers.body).toBe(200);

    const sync = async (url: string) => {
      const run = await ok<{ id: number }>('POST', url, admin, undefined, 202);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const view = await ok<{ status: string; counts: Record<string, number | null> }>(
          'GET',
          `/sync-runs/${run.id}`,
          admin,
        );
        if (view.status === 'SUCCEEDED' || view.status === 'FAILED') return view;
        if (Date.now() > deadline) throw new Error(`sync ${url} still ${view.status}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const jasperListed = (await world.sims.jasper.inject({ method: 'GET', url: '/__sim/state' })).json<{
      devices: unknown[];
    }>().devices.length;
    expect(await sync(`/service-providers/${provider.id}/sync`)).toMatchObject({
      status: 'SUCCEEDED',
      // Besides the 10,000: the device the connection test looked up, whose id is no ICCID.
      counts: { seen: jasperListed, created: 10_000, changed: 0, skipped: jasperListed - 10_000 },
    });
    expect(await sync(`/service-providers/${tsProvider.id}/sync`)).toMatchObject({
      status: 'SUCCEEDED',
      counts: { seen: 1_000, created: 1_000, gone: 0 },
    });
    const revioListed = (await world.sims.revio.inject({ method: 'GET', url: '/__sim/state' }))
      .json<RevioSimState>()
      .customers.map((c) => c.customer_id);
    expect(await sync(`/integrations/${revio.id}/sync`)).toMatchObject({
      status: 'SUCCEEDED',
      counts: {
        seen: revioListed.length,
        // Wile E. Logistics was added by hand above; every other customer is new.
        created: revioListed.filter((id) => id !== NEW_REV_CUSTOMER).length,
      },
    });
    expect(revioListed.length).toBeGreaterThanOrEqual(200);
    const synced = await ok<{ items: { id: number }[] }>(
      'GET',
      `/devices?serviceProviderId=${provider.id}&limit=100`,
      admin,
    );
    expect(synced.items).toHaveLength(100);

    // A webhook for the tenant's ERP: its secret shown once, a signed test delivered now.
    const hook = await ok<{ endpoint: { id: number }; secret: string }>('POST', '/webhooks', admin, {
      url: world.webhooks.url,
      description: 'Acme ERP',
    });
    const test = await ok<{ status: string; statusCode: number }>(
      'POST',
      `/webhooks/${hook.endpoint.id}/test`,
      admin,
      undefined,
      200,
    );
    expect(test).toMatchObject({ status: 'delivered', statusCode: 200 });
    const signedWith = (secret: string, event: string) =>
      world.webhooks.received.filter(
        (r) =>
          r.headers['x-simbind-event'] === event &&
          verifySignature(secret, r.body, r.headers['x-simbind-signature'] as string),
      );
    expect(signedWith(hook.secret, 'webhook.test')).toHaveLength(1);

    // The operator assigns 30 devices (one is suspended, so ineligible) with Rev.io services.
    const operator = await signIn('ops@acme.example', initialPassword);
    const submitted = await ok<{ id: number; counts: { total: number; pending: number; error: number } }>(
      'POST',
      '/bulk-changes',
      operator,
      {
        changeType: 'customer_assignment',
        serviceProviderId: provider.id,
        customerId: customer.id,
        devices: fleet.slice(10),
        createRevService: true,
        revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 4.5 }] },
        addCustomerRatePlan: true,
        customerRatePlan: { ratePlanId: plan.id },
      },
      202,
    );
    expect(submitted.counts).toMatchObject({ total: 30, pending: 29, error: 1 });
    expect(await waitForFinish(world, submitted.id)).toBe('PROCESSED_WITH_ERRORS');

    const state = (
      await world.sims.revio.inject({ method: 'GET', url: '/__sim/state' })
    ).json<RevioSimState>();
    const services = state.services.filter((s) => s.customer_id === NEW_REV_CUSTOMER);
    expect(services).toHaveLength(29);
    expect(new Set(services.map((s) => s.number)).size).toBe(29);
    const owned = await ok<{ items: { customerId: number | null }[] }>(
      'GET',
      `/devices?serviceProviderId=${provider.id}&customerId=${customer.id}&limit=100`,
      operator,
    );
    expect(owned.items).toHaveLength(29);

    // The completion reached the webhook, signed with the secret shown at registration.
    const deadline = Date.now() + 30_000;
    while (signedWith(hook.secret, 'bulk_change.completed').length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const [completed] = signedWith(hook.secret, 'bulk_change.completed');
    expect(JSON.parse(completed!.body)).toMatchObject({
      data: { id: submitted.id, status: 'PROCESSED_WITH_ERRORS' },
    });
    const log = await ok<{ items: { event: string; status: string }[] }>(
      'GET',
      `/webhooks/${hook.endpoint.id}/deliveries`,
      admin,
    );
    expect(log.items.map((d) => [d.event, d.status])).toEqual([
      ['bulk_change.completed', 'delivered'],
      ['webhook.test', 'delivered'],
    ]);
  }, 120_000);
});
