import '../helpers/client-build.ts';
import { createSimbindClient, SimbindApiError, type SimbindClient } from 'simbind/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';
import { createWorld, type World } from '../helpers/world.ts';

/**
 * `simbind/client` as its users get it: imported by package name from the built client/dist, over
 * real HTTP to a listening app with a worker and the simulators behind it.
 */

let world: World;
let fleet: Fleet;
let client: SimbindClient;
let baseUrl: string;
let token: string;

beforeAll(async () => {
  world = await createWorld({ devices: 2000 });
  fleet = await loadFleet(world.database.pool);
  baseUrl = `http://127.0.0.1:${world.config.http.port}`;
  ({ token } = await world.services.auth.issueApiToken({
    email: 'admin@northwind.example',
    name: 'typed client test',
  }));
  client = createSimbindClient({ baseUrl, token });
}, 120_000);
afterAll(async () => {
  await world?.close();
});

/** Ownership only: no Rev.io service, no rate plans (the API requires the three flags). */
const noExtras = { createRevService: false, addCarrierRatePlan: false, addCustomerRatePlan: false };

describe('simbind/client', () => {
  it('submits an assignment, waits for it, follows the device pages and exports the CSV', async () => {
    const devices = await freeDevices(world.database.pool, fleet.jasper, 20);
    const request = {
      serviceProviderId: fleet.jasper,
      customerId: fleet.revCustomer.id,
      devices,
      createRevService: true,
      revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 4.5 }], providerId: 1 },
      addCustomerRatePlan: false,
      addCarrierRatePlan: true,
      carrierRatePlan: {
        ratePlan: fleet.jasperPlan.code,
        communicationPlan: fleet.jasperPlan.communicationPlan,
      },
    };
    const idempotencyKey = `typed-client-${devices[0]}`;

    const submitted = await client.submitAssignment(request, { idempotencyKey });
    expect(submitted).toMatchObject({ status: 'NEW', counts: { total: 20, pending: 20, error: 0 } });

    const seen: string[] = [];
    const done = await client.waitForBulkChange(submitted.id, {
      intervalMs: 100,
      timeoutMs: 60_000,
      onProgress: (bulkChange) => seen.push(bulkChange.status),
    });
    expect(done).toMatchObject({
      id: submitted.id,
      status: 'PROCESSED',
      counts: { processed: 20, error: 0 },
    });
    expect(seen.at(-1)).toBe('PROCESSED');

    // 5 per page: 4 pages, so the 20 only come back if nextCursor is followed.
    const orders = [];
    for await (const order of client.bulkChangeDevices(submitted.id, { limit: 5 })) orders.push(order);
    expect(orders).toHaveLength(20);
    expect(new Set(orders.map((order) => order.id)).size).toBe(20);
    expect(orders.map((order) => order.iccid).sort()).toEqual([...devices].sort());
    expect(orders.every((order) => order.status === 'PROCESSED' && order.revServiceId !== null)).toBe(true);

    const csv = await client.exportDevicesCsv(submitted.id);
    const lines = csv.split('\r\n').filter((line) => line !== '');
    expect(lines).toHaveLength(21);
    expect(lines[0]).toMatch(/^deviceId,identifier,iccid,/);
    expect(lines.slice(1).every((line) => line.includes(',PROCESSED,'))).toBe(true);

    // The same key again (a re-run of the script): the same bulk change, nothing submitted twice.
    const again = await client.submitAssignment(request, { idempotencyKey });
    expect(again.id).toBe(submitted.id);
    const { rows } = await world.database.pool.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM bulk_change WHERE idempotency_key = $1',
      [idempotencyKey],
    );
    expect(rows[0]?.n).toBe(1);
  }, 90_000);

  it("throws SimbindApiError with the server's status, code and details", async () => {
    const rejected = await client
      .submitAssignment({
        serviceProviderId: fleet.jasper,
        customerId: fleet.revCustomer.id,
        devices: ['89014103211118510720'],
        ...noExtras,
        effectiveDate: 'next tuesday',
      })
      .catch((error: unknown) => error);
    expect(rejected).toBeInstanceOf(SimbindApiError);
    expect(rejected).toMatchObject({
      status: 400,
      code: 'invalid_input',
      details: expect.arrayContaining([expect.objectContaining({ path: '/effectiveDate' })]) as unknown,
    });

    const stranger = createSimbindClient({ baseUrl, token: 'not-a-token' });
    await expect(stranger.getBulkChange(1)).rejects.toMatchObject({
      name: 'SimbindApiError',
      status: 401,
      code: 'unauthenticated',
    });
  });

  it('answers 422 when an Idempotency-Key is reused for a different request', async () => {
    const [first, second] = await freeDevices(world.database.pool, fleet.jasper, 2);
    const base = { serviceProviderId: fleet.jasper, customerId: fleet.amopCustomer.id, ...noExtras };
    const idempotencyKey = 'typed-client-reused-key';
    const { id } = await client.submitAssignment({ ...base, devices: [first!] }, { idempotencyKey });
    await expect(
      client.submitAssignment({ ...base, devices: [second!] }, { idempotencyKey }),
    ).rejects.toMatchObject({ status: 422, code: 'unprocessable' });
    await client.waitForBulkChange(id, { intervalMs: 100, timeoutMs: 30_000 });
  });

  it('retries a submission whose answer was lost with the same key, so it is created once', async () => {
    const posts: string[] = [];
    const losesFirstAnswer = createSimbindClient({
      baseUrl,
      token,
      // The request reaches the server and is processed; only its answer never comes back.
      fetch: async (request) => {
        const response = await fetch(request);
        if (request.method !== 'POST') return response;
        posts.push(request.headers.get('idempotency-key') ?? '');
        if (posts.length === 1) throw new TypeError('fetch failed (answer lost)');
        return response;
      },
    });
    const before = await bulkChangeCount();
    const submitted = await losesFirstAnswer.submitAssignment({
      serviceProviderId: fleet.jasper,
      customerId: fleet.amopCustomer.id,
      devices: await freeDevices(world.database.pool, fleet.jasper, 3),
      ...noExtras,
    });
    expect(posts).toHaveLength(2);
    expect(posts[1]).toBe(posts[0]);
    expect(await bulkChangeCount()).toBe(before + 1);
    await client.waitForBulkChange(submitted.id, { intervalMs: 100, timeoutMs: 30_000 });
  });
});

async function bulkChangeCount(): Promise<number> {
  const { rows } = await world.database.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM bulk_change',
  );
  return rows[0]!.n;
}
