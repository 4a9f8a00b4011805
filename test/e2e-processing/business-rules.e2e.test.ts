import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postAssignment } from '../helpers/assignments.ts';
import { freeDevices, type Fleet } from '../helpers/fleet.ts';
import { openFleetWorld } from '../helpers/fleet-world.ts';
import { waitForFinish, type World } from '../helpers/world.ts';

/**
 * Issue 12, rules 1, 3 and 4, end to end (API, worker, real PostgreSQL, the simulators):
 * - rule 1: a device owned by another customer is refused as `owned` unless the request says
 *   `reassign`; the dry run names the current owner and counts the devices changing hands; the
 *   history records the previous owner.
 * - rule 3: a communication plan for a ThingSpace provider is refused (ThingSpace's plan change
 *   takes a service plan only); Jasper's is checked against the reference data like its rate plan.
 * - rule 4: a device that changes hands off the Rev.io path loses the previous owner's billing
 *   fields; one that stays with its customer keeps them.
 */

interface DryRunDevice {
  identifier: string;
  eligible: boolean;
  errorCategory: string | null;
  message: string | null;
  currentOwner: {
    customerId: number;
    name: string | null;
    siteId: number | null;
    siteName: string | null;
  } | null;
  changesHands: boolean;
}
interface DryRun {
  counts: { total: number; eligible: number; ineligible: number; changingHands: number };
  devices: DryRunDevice[];
}

let world: World;
let fleet: Fleet;
let admin: { authorization: string };

beforeAll(async () => {
  ({ world, fleet, admin } = await openFleetWorld());
}, 120_000);
afterAll(async () => {
  await world?.close();
});

const q = async <T>(text: string, values: unknown[] = []) =>
  (await world.database.pool.query(text, values)).rows as T[];
const tableCounts = async () =>
  q<{ n: number }>(
    `SELECT (SELECT count(*) FROM bulk_change) + (SELECT count(*) FROM bulk_change_device)
          + (SELECT count(*) FROM change_log) + (SELECT count(*) FROM pgboss.job) AS n`,
  );

const submit = (body: Record<string, unknown>) =>
  postAssignment(world.app, admin, {
    serviceProviderId: fleet.thingspace,
    customerId: fleet.amopCustomer.id,
    ...body,
  });

/** Gives free devices to `customerId` (at `siteId`) with the given billing fields, as an earlier assignment would. */
async function ownedBy(
  iccids: string[],
  owner: {
    customerId: number;
    siteId: number;
    accountNumber?: string;
    revCredentialsId?: number;
    revServiceId?: number;
  },
) {
  await q(
    `INSERT INTO device_tenant (tenant_id, device_id, customer_id, site_id, account_number, rev_credentials_id, rev_service_id)
     SELECT d.tenant_id, d.id, $2, $3, $4, $5, $6 FROM device d WHERE d.iccid = ANY($1)`,
    [
      iccids,
      owner.customerId,
      owner.siteId,
      owner.accountNumber ?? null,
      owner.revCredentialsId ?? null,
      owner.revServiceId ?? null,
    ],
  );
}

const ownershipOf = (iccids: string[]) =>
  q<{
    iccid: string;
    customer_id: number;
    account_number: string | null;
    rev_credentials_id: number | null;
    rev_service_id: number | null;
  }>(
    `SELECT d.iccid, dt.customer_id, dt.account_number, dt.rev_credentials_id::int, dt.rev_service_id::int
     FROM device d JOIN device_tenant dt ON dt.device_id = d.id WHERE d.iccid = ANY($1) ORDER BY d.iccid`,
    [iccids],
  );

describe('rule 1: a device already owned by another customer', () => {
  let owned: string[];
  let free: string[];
  let revCustomerName: string;

  beforeAll(async () => {
    owned = await freeDevices(world.database.pool, fleet.thingspace, 3);
    await ownedBy(owned, { customerId: fleet.revCustomer.id, siteId: fleet.revCustomer.defaultSiteId });
    free = await freeDevices(world.database.pool, fleet.thingspace, 2);
    revCustomerName = (
      await q<{ name: string }>('SELECT name FROM customer WHERE id = $1', [fleet.revCustomer.id])
    )[0]!.name;
  });

  it('is ineligible as `owned` in the dry run, naming its owner and site; free devices are not', async () => {
    const res = await submit({ devices: [...owned, ...free], dryRun: true });
    expect(res.statusCode, res.body).toBe(200);
    const answer = res.json<DryRun>();
    expect(answer.counts).toEqual({ total: 5, eligible: 2, ineligible: 3, changingHands: 0 });
    const byId = new Map(answer.devices.map((d) => [d.identifier, d]));
    for (const iccid of owned) {
      const d = byId.get(iccid)!;
      expect(d).toMatchObject({ eligible: false, errorCategory: 'owned', changesHands: true });
      expect(d.currentOwner).toMatchObject({
        customerId: fleet.revCustomer.id,
        siteId: fleet.revCustomer.defaultSiteId,
      });
      expect(d.message).toContain(
        `Device already belongs to ${revCustomerName} (customer ${fleet.revCustomer.id})`,
      );
    }
    for (const iccid of free)
      expect(byId.get(iccid)).toMatchObject({ eligible: true, currentOwner: null, changesHands: false });
  });

  it('counts the devices that would change hands with reassign', async () => {
    const res = await submit({ devices: [...owned, ...free], dryRun: true, reassign: true });
    expect(res.json<DryRun>().counts).toEqual({ total: 5, eligible: 5, ineligible: 0, changingHands: 3 });
  });

  it('is refused without reassign: the work order ends ERROR / owned and the device stays with its owner', async () => {
    const res = await submit({ devices: owned.slice(0, 1) });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json<{ id: number }>().id;
    expect(await waitForFinish(world, id)).toBe('ERROR');
    const [order] = await q<{ status: string; error_category: string; message: string }>(
      'SELECT status, error_category, message FROM bulk_change_device WHERE bulk_change_id = $1',
      [id],
    );
    expect(order).toMatchObject({ status: 'ERROR', error_category: 'owned' });
    expect(order!.message).toContain(revCustomerName);
    expect((await ownershipOf(owned.slice(0, 1)))[0]!.customer_id).toBe(fleet.revCustomer.id);
  });

  it('moves with reassign, and the history records the previous owner', async () => {
    const res = await submit({ devices: owned, reassign: true });
    expect(res.statusCode, res.body).toBe(202);
    const id = res.json<{ id: number }>().id;
    expect(await waitForFinish(world, id)).toBe('PROCESSED');
    expect((await ownershipOf(owned)).map((o) => o.customer_id)).toEqual(
      owned.map(() => fleet.amopCustomer.id),
    );
    const history = await q<{
      before: { customerId: number; siteId: number };
      after: { customerId: number };
    }>(
      `SELECT before, after FROM device_history WHERE bulk_change_id = $1 AND change_type = 'customer_assignment'`,
      [id],
    );
    expect(history).toHaveLength(owned.length);
    for (const h of history) {
      expect(h.before).toMatchObject({
        customerId: fleet.revCustomer.id,
        siteId: fleet.revCustomer.defaultSiteId,
      });
      expect(h.after).toMatchObject({ customerId: fleet.amopCustomer.id });
    }
  });
});

describe('rule 3: communication plans', () => {
  it('refuses a communication plan for a ThingSpace provider with a 400 naming the field, writing nothing', async () => {
    const devices = await freeDevices(world.database.pool, fleet.thingspace, 1);
    const before = await tableCounts();
    const res = await submit({
      devices,
      addCarrierRatePlan: true,
      carrierRatePlan: { ratePlan: fleet.thingspacePlan, communicationPlan: 'CP-Standard-Data' },
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json<{ error: { details: { path: string }[] } }>().error.details.map((d) => d.path)).toEqual([
      '/carrierRatePlan/communicationPlan',
    ]);
    expect(await tableCounts()).toEqual(before);
  });

  it('checks a Jasper communication plan against the reference data, like the rate plan', async () => {
    const devices = await freeDevices(world.database.pool, fleet.jasper, 1);
    const before = await tableCounts();
    const res = await submit({
      serviceProviderId: fleet.jasper,
      devices,
      addCarrierRatePlan: true,
      carrierRatePlan: { ratePlan: fleet.jasperPlan.code, communicationPlan: 'CP-Does-Not-Exist' },
    });
    expect(res.statusCode, res.body).toBe(422);
    const details = res.json<{ error: { details: { path: string; message: string }[] } }>().error.details;
    expect(details.map((d) => d.path)).toEqual(['/carrierRatePlan/communicationPlan']);
    expect(details[0]!.message).toContain('CP-Does-Not-Exist');
    expect(await tableCounts()).toEqual(before);
    const ok = await submit({
      serviceProviderId: fleet.jasper,
      devices,
      addCarrierRatePlan: true,
      carrierRatePlan: {
        ratePlan: fleet.jasperPlan.code,
        communicationPlan: fleet.jasperPlan.communicationPlan,
      },
      dryRun: true,
    });
    expect(ok.statusCode, ok.body).toBe(200);
  });
});

describe('rule 4: billing fields on the AMOP path', () => {
  it('clears the previous owner’s Rev.io fields when a device changes hands, keeps them when it stays', async () => {
    const revCredentialsId = (
      await q<{ id: number }>(
        `SELECT id::int FROM integration_credentials WHERE tenant_id = $1 AND integration = 'revio' ORDER BY id LIMIT 1`,
        [fleet.tenantId],
      )
    )[0]!.id;
    const billing = {
      accountNumber: String(fleet.revCustomer.revCustomerId),
      revCredentialsId,
      revServiceId: 987_654,
    };
    const [moving, staying] = [
      await freeDevices(world.database.pool, fleet.thingspace, 2),
      await freeDevices(world.database.pool, fleet.thingspace, 4).then((d) => d.slice(2)),
    ];
    await ownedBy([...moving, ...staying], {
      customerId: fleet.revCustomer.id,
      siteId: fleet.revCustomer.defaultSiteId,
      ...billing,
    });

    const moved = await submit({ devices: moving, reassign: true });
    expect(moved.statusCode, moved.body).toBe(202);
    expect(await waitForFinish(world, moved.json<{ id: number }>().id)).toBe('PROCESSED');
    // Same customer, no Rev.io service asked: its own billing fields stay.
    const stayed = await submit({ devices: staying, customerId: fleet.revCustomer.id });
    expect(stayed.statusCode, stayed.body).toBe(202);
    expect(await waitForFinish(world, stayed.json<{ id: number }>().id)).toBe('PROCESSED');

    expect(await ownershipOf([...moving, ...staying])).toEqual(
      [
        ...moving.map((iccid) => ({
          iccid,
          customer_id: fleet.amopCustomer.id,
          account_number: null,
          rev_credentials_id: null,
          rev_service_id: null,
        })),
        ...staying.map((iccid) => ({
          iccid,
          customer_id: fleet.revCustomer.id,
          account_number: billing.accountNumber,
          rev_credentials_id: revCredentialsId,
          rev_service_id: billing.revServiceId,
        })),
      ].sort((a, b) => (a.iccid < b.iccid ? -1 : 1)),
    );
    const [history] = await q<{ before: Record<string, unknown>; after: Record<string, unknown> }>(
      `SELECT h.before, h.after FROM device_history h JOIN device d ON d.id = h.device_id
       WHERE d.iccid = $1 AND h.change_type = 'customer_assignment'`,
      [moving[0]],
    );
    expect(history!.before).toMatchObject({
      customerId: fleet.revCustomer.id,
      accountNumber: billing.accountNumber,
      revCredentialsId,
      revServiceId: billing.revServiceId,
    });
    expect(history!.after).toMatchObject({
      customerId: fleet.amopCustomer.id,
      accountNumber: null,
      revServiceId: null,
    });
  });
});
