import { describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import { post, snapshot, useInputWorld } from './strict-input.world.ts';

/**
 * The older entry points (`POST /M2M/AssociateCustomer`, `/M2M/AssociateAmopCustomer`) are held to
 * the same strictness as the JSON API (issues 10 and 18) and answer in their own shape,
 * `{ Success: false, Message }`, also for a body that is not JSON or too large (500 before).
 */

const w = useInputWorld();
const send = (url: string, payload: unknown, headers: Record<string, string> = w.admin) =>
  post(url, payload, headers);
const BEYOND_BIGINT = '99999999999999999999';
const BEYOND_SAFE = '9007199254740993';

interface LegacyCase {
  name: string;
  request: () => InjectOptions;
  status: number;
  /** Names the offending field (the older shape has no field list). */
  message: RegExp;
}

const associate = (change: Record<string, unknown>) =>
  send('/M2M/AssociateCustomer', {
    Devices: w.devices,
    ServiceProviderId: w.fleet.thingspace,
    RevCustomerId: w.fleet.revCustomer.revCustomerId,
    ...change,
  });
const associateAmop = (change: Record<string, unknown>) =>
  send('/M2M/AssociateAmopCustomer', {
    Devices: w.devices,
    ServiceProviderId: w.fleet.thingspace,
    SiteId: w.fleet.amopCustomer.defaultSiteId,
    ...change,
  });

const legacyCases: LegacyCase[] = [
  {
    name: 'Devices as a string',
    request: () => associate({ Devices: 'x' }),
    status: 400,
    message: /Devices/,
  },
  { name: 'Devices: null', request: () => associateAmop({ Devices: null }), status: 400, message: /Devices/ },
  {
    name: 'an ICCID as a JSON number',
    request: () =>
      send(
        '/M2M/AssociateAmopCustomer',
        `{"Devices":[${w.devices[0]!}],"ServiceProviderId":${w.fleet.thingspace},"SiteId":${w.fleet.amopCustomer.defaultSiteId}}`,
      ),
    status: 400,
    message: /Devices\/0/,
  },
  {
    name: 'CreateRevService: "false"',
    request: () => associate({ CreateRevService: 'false' }),
    status: 400,
    message: /CreateRevService/,
  },
  {
    name: 'CreateRevService: null',
    request: () => associate({ CreateRevService: null }),
    status: 400,
    message: /CreateRevService/,
  },
  {
    name: 'a NUL byte in a device',
    request: () => associateAmop({ Devices: [`${w.devices[0]!}\u0000`] }),
    status: 400,
    message: /Devices\/0/,
  },
  {
    name: 'a NUL byte in the carrier rate plan',
    request: () => associate({ AddCarrierRatePlan: true, CarrierRatePlan: 'M2M\u0000' }),
    status: 400,
    message: /CarrierRatePlan/,
  },
  {
    name: 'a SiteId beyond bigint, as digits',
    request: () => associateAmop({ SiteId: BEYOND_BIGINT }),
    status: 400,
    message: /SiteId/,
  },
  {
    name: 'a ServiceProviderId beyond the exact integers of JavaScript',
    request: () => associate({ ServiceProviderId: BEYOND_SAFE }),
    status: 400,
    message: /ServiceProviderId/,
  },
  {
    name: 'malformed JSON',
    request: () => send('/M2M/AssociateCustomer', '{"Devices": ['),
    status: 400,
    message: /JSON/,
  },
  {
    name: 'a body over 16 MB',
    request: () => associate({ Description: 'x'.repeat(17 * 1024 * 1024) }),
    status: 413,
    message: /too large/,
  },
  {
    name: 'nobody signed in, with a malformed body',
    request: () => send('/M2M/AssociateCustomer', '{"Devices": [', {}),
    status: 401,
    message: /Sign in/,
  },
];

describe('the older entry points: the same strictness, answered in their own shape', () => {
  it.each(legacyCases)('$name: $status { Success: false, Message }, nothing written', async (c) => {
    const before = await snapshot(w);
    const res = await w.app.inject(c.request());
    expect(res.statusCode, res.body).toBe(c.status);
    const body = res.json<{ Success: boolean; Message: string }>();
    expect(Object.keys(body).sort()).toEqual(['Message', 'Success']);
    expect(body.Success).toBe(false);
    expect(body.Message).toMatch(c.message);
    expect(await snapshot(w)).toEqual(before);
  });
});
