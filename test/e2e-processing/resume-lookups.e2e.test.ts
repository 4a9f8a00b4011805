import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unlimitedGate } from '../../src/clients/rate-gate.ts';
import { createRevioClient } from '../../src/clients/revio.client.ts';
import { claimGroup, type WorkItem } from '../../src/db/repositories/processing.repository.ts';
import { ensureServiceIntents } from '../../src/db/repositories/rev-service.repository.ts';
import { DEMO_REVIO_ACCOUNT, revioSimState } from '../../simulators/revio.simulator.ts';
import type { RecordedRequest } from '../../simulators/sim-control.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { authHeaders } from '../helpers/auth.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';
import { createWorld, waitForFinish, type World } from '../helpers/world.ts';

/**
 * Recovery spends the rate limit only where it must (issue 13, B2): a resumed chunk looks a device
 * up in Rev.io before its create only when an earlier run left its intent open (a create that may
 * have been sent), not every device the dead run had claimed. The dead run is staged in the
 * database and the simulator exactly as it would have left them, then a live worker resumes.
 */

let world: World;
let fleet: Fleet;
let admin: { authorization: string };

beforeAll(async () => {
  world = await createWorld({ devices: 500, worker: false });
  fleet = await loadFleet(world.database.pool);
  admin = await authHeaders(world.database.db, 'admin@northwind.example');
}, 120_000);
afterAll(async () => {
  await world?.close();
});

const REV_SERVICE = { serviceTypeId: 3, products: [{ productId: 11, rate: 4.5 }] };

/** Submits 40 devices, and claims the first group of 32 as a worker that then died would have. */
async function submitAndClaim(devices: string[]): Promise<{ id: number; claimed: WorkItem[] }> {
  const res = await postAssignment(world.app, admin, {
    serviceProviderId: fleet.thingspace,
    customerId: fleet.revCustomer.id,
    devices,
    createRevService: true,
    revService: REV_SERVICE,
  });
  expect(res.statusCode).toBe(202);
  const id = res.json<{ id: number }>().id;
  const { rows } = await world.database.pool.query<{ chunk: number }>(
    'SELECT DISTINCT chunk FROM bulk_change_device WHERE bulk_change_id = $1',
    [id],
  );
  expect(rows).toHaveLength(1);
  const claimed = await claimGroup(world.database.db, id, rows[0]!.chunk, 32);
  expect(claimed).toHaveLength(32);
  return { id, claimed };
}

const numberOf = (item: WorkItem) => item.msisdn ?? item.iccid;

describe('a chunk resumed after its worker died', () => {
  it('looks up only the devices whose intent the dead run left open', async () => {
    const all = await freeDevices(world.database.pool, fleet.thingspace, 80);
    const [untouched, opened] = [all.slice(0, 40), all.slice(40)];
    // A: the dead run claimed its group and died before its first intent.
    const a = await submitAndClaim(untouched);
    // B: it had committed its first block of intents (8 devices) and sent 5 creates, which landed
    // in Rev.io; their answers were lost with it.
    const b = await submitAndClaim(opened);
    const first = b.claimed[0]!.request;
    const open = b.claimed.slice(0, 8);
    await ensureServiceIntents(
      world.database.db,
      {
        tenantId: fleet.tenantId,
        customerId: fleet.revCustomer.id,
        revCustomerId: first.revCustomerId!,
        revCredentialsId: first.revCredentialsId!,
        serviceTypeId: REV_SERVICE.serviceTypeId,
        providerId: null,
        packageId: null,
        usagePlanGroupId: null,
        description: null,
      },
      open.map((item) => ({
        workOrderId: item.id,
        deviceId: item.deviceId,
        number: numberOf(item),
        number2: item.iccid,
        effectiveDate: null,
        activatedDate: item.request.activatedDate,
      })),
    );
    const revio = createRevioClient({ gate: unlimitedGate, timeoutMs: 5_000 });
    const creds = { id: 'dead-worker', baseUrl: world.simUrls.revio, ...DEMO_REVIO_ACCOUNT };
    for (const item of open.slice(0, 5)) {
      await revio.createService(creds, {
        customerId: first.revCustomerId!,
        number: numberOf(item),
        number2: item.iccid,
        serviceTypeId: REV_SERVICE.serviceTypeId,
      });
    }

    await world.startWorker();
    expect(await waitForFinish(world, a.id, 60_000)).toBe('PROCESSED');
    expect(await waitForFinish(world, b.id, 60_000)).toBe('PROCESSED');

    const received = await world.sims.revio.inject({ method: 'GET', url: '/__sim/requests?path=/v1/' });
    const requests = received.json<RecordedRequest[]>();
    const lookups = requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/Services'));
    const lookupsOf = async (id: number) => {
      const { rows } = await world.database.pool.query<{ n: string }>(
        'SELECT coalesce(msisdn, iccid) AS n FROM bulk_change_device WHERE bulk_change_id = $1',
        [id],
      );
      const numbers = new Set(rows.map((r) => r.n));
      return lookups
        .filter((r) => numbers.has(String(r.query['search.number'])))
        .map((r) => String(r.query['search.number']));
    };
    expect(await lookupsOf(a.id)).toEqual([]);
    expect((await lookupsOf(b.id)).sort()).toEqual(open.map(numberOf).sort());
    // No product was ever sent by the dead run: no product lookups at all.
    expect(requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/ServiceProduct'))).toEqual([]);

    // Nothing was created twice: one service per device, the 5 that landed adopted, not re-sent.
    const perIccid = new Map<string, number>();
    for (const s of revioSimState(world.sims.revio).services)
      perIccid.set(s.number2!, (perIccid.get(s.number2!) ?? 0) + 1);
    expect(all.map((iccid) => perIccid.get(iccid))).toEqual(all.map(() => 1));
    const creates = requests.filter((r) => r.method === 'POST' && r.path === '/v1/Services');
    expect(creates).toHaveLength(80);
    const { rows: adopted } = await world.database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM change_log WHERE bulk_change_id = $1 AND description LIKE '%found after%'`,
      [b.id],
    );
    expect(adopted[0]!.n).toBe(5);
  }, 180_000);
});
