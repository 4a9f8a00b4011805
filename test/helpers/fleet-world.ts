import { expect } from 'vitest';
import { postAssignment } from './assignments.ts';
import { authHeaders } from './auth.ts';
import { freeDevices, loadFleet, type Fleet } from './fleet.ts';
import { createWorld, waitForFinish, type World, type WorldOptions } from './world.ts';

/**
 * The set-up the processing tests share: a world (2,000 devices unless told), its fleet's providers
 * and customers, and an admin's headers; and the moves several of them make on it.
 */

export interface FleetWorld {
  world: World;
  fleet: Fleet;
  admin: { authorization: string };
}

export async function openFleetWorld(options: Partial<WorldOptions> = {}): Promise<FleetWorld> {
  const world = await createWorld({ devices: 2000, ...options });
  try {
    const fleet = await loadFleet(world.database.pool);
    const admin = await authHeaders(world.database.db, 'admin@northwind.example');
    return { world, fleet, admin };
  } catch (error) {
    await world.close();
    throw error;
  }
}

/** yyyy-MM-dd, `offset` days from now (UTC). */
export const dayFromNow = (offset: number) =>
  new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

/** An assignment to the fleet's AMOP customer (unless the body names another), run to PROCESSED; its id. */
export async function assignProcessed(
  { world, fleet, admin }: FleetWorld,
  body: Record<string, unknown>,
): Promise<number> {
  const res = await postAssignment(world.app, admin, { customerId: fleet.amopCustomer.id, ...body });
  expect(res.statusCode, res.body).toBe(202);
  const id = res.json<{ id: number }>().id;
  expect(await waitForFinish(world, id)).toBe('PROCESSED');
  return id;
}

/**
 * 100 free ThingSpace devices assigned on the Rev path (a Rev.io service each) while Rev.io answers
 * every create `latencyMs` late, so that many creates are in flight when a test stops a worker.
 */
export async function submitSlowRevAssignment(
  world: World,
  latencyMs: number,
): Promise<{ res: Awaited<ReturnType<typeof postAssignment>>; devices: string[] }> {
  const fleet = await loadFleet(world.database.pool);
  const admin = await authHeaders(world.database.db, 'admin@northwind.example');
  const devices = await freeDevices(world.database.pool, fleet.thingspace, 100);
  await world.sims.revio.inject({
    method: 'POST',
    url: '/__sim/faults',
    payload: { method: 'POST', path: '/v1/Services', latencyMs },
  });
  const res = await postAssignment(world.app, admin, {
    serviceProviderId: fleet.thingspace,
    customerId: fleet.revCustomer.id,
    devices,
    createRevService: true,
    revService: { serviceTypeId: 3, packageId: 5 },
  });
  return { res, devices };
}
