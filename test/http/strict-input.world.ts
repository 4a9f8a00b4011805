import { afterAll, beforeAll, expect } from 'vitest';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { buildTestAppWithServices, type TestApp } from '../helpers/app.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';

/**
 * The shared setting of the strict-input tests (security review, issues 10 and 18): the app over a
 * small demo fleet, an API token and a session of northwind's admin, two free devices, and a count
 * of every table a refused request must leave alone.
 */

export interface InputWorld {
  database: TestDatabase;
  app: TestApp;
  fleet: Fleet;
  admin: { authorization: string };
  /** A signed-in session (from simbind's own pages): API tokens are created from a session only. */
  session: { cookie: string; 'sec-fetch-site': string };
  /** Free ThingSpace devices: a body valid apart from the case under test would be accepted. */
  devices: string[];
}

/** Registers the setup and teardown of the file; the fields are there once `beforeAll` has run. */
export function useInputWorld(): InputWorld {
  const world = {} as InputWorld;
  beforeAll(async () => {
    const database = await createTestDatabase();
    await seedDemoData(database.db, { devices: 2000 });
    const app = await buildTestAppWithServices(database);
    const fleet = await loadFleet(database.pool);
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: 'admin@northwind.example', password: 'admin-demo' },
    });
    const cookie = login.cookies.find((c) => c.name === 'simbind_session');
    if (!cookie) throw new Error(`login failed: ${login.statusCode} ${login.body}`);
    Object.assign(world, {
      database,
      app,
      fleet,
      admin: await authHeaders(database.db, 'admin@northwind.example'),
      session: { cookie: `simbind_session=${cookie.value}`, 'sec-fetch-site': 'same-origin' },
      devices: await freeDevices(database.pool, fleet.thingspace, 2),
    });
  });
  afterAll(async () => {
    await world.app?.close();
    await world.database?.drop();
  });
  return world;
}

const TABLES = [
  'bulk_change',
  'bulk_change_device',
  'change_log',
  'pgboss.job',
  'api_token',
  'login_attempt',
  'user_session',
];

/** Row counts of every table a submission, a sign-in or a token writes. */
export async function snapshot(world: InputWorld): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of TABLES) {
    const { rows } = await world.database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table}`,
    );
    counts[table] = rows[0]!.n;
  }
  return counts;
}

/** A submission that is valid (and would create a real bulk change) apart from `change`. */
export function submission(world: InputWorld, change: Record<string, unknown> = {}) {
  return {
    changeType: 'customer_assignment',
    serviceProviderId: world.fleet.thingspace,
    customerId: world.fleet.amopCustomer.id,
    devices: world.devices,
    createRevService: false,
    addCarrierRatePlan: false,
    addCustomerRatePlan: false,
    ...change,
  };
}

export const JSON_TYPE = { 'content-type': 'application/json' };

/** A POST; a string payload is sent as raw JSON (for what a JS object cannot carry). */
export function post(url: string, payload: unknown, headers: Record<string, string>): InjectOptions {
  return {
    method: 'POST',
    url,
    headers: typeof payload === 'string' ? { ...headers, ...JSON_TYPE } : headers,
    payload: payload as InjectOptions['payload'],
  };
}

/** 400 `invalid_input` whose details name the field by its JSON pointer (and where it was). */
export function expectFieldRefused(res: LightMyRequestResponse, path: string, where?: string) {
  expect(res.statusCode, res.body.slice(0, 500)).toBe(400);
  const { error } = res.json<{ error: { code: string; details?: { path: string; in?: string }[] } }>();
  expect(error.code).toBe('invalid_input');
  expect(error.details).toEqual(
    expect.arrayContaining([expect.objectContaining(where ? { path, in: where } : { path })]),
  );
}

let everyTable: string[] | undefined;

/**
 * Row counts of every table of the database (and of pg-boss's jobs), in one query: "nothing was
 * written" for any refused request, whatever table a future route writes.
 */
export async function snapshotAll(world: InputWorld): Promise<Record<string, number>> {
  everyTable ??= [
    ...(
      await world.database.pool.query<{ name: string }>(
        `SELECT table_name AS name FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
      )
    ).rows.map((r) => r.name),
    'pgboss.job',
  ];
  const counts = everyTable.map((t) => `(SELECT count(*)::int FROM ${t}) AS "${t}"`).join(', ');
  const { rows } = await world.database.pool.query<Record<string, number>>(`SELECT ${counts}`);
  return rows[0]!;
}
