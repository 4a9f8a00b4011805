import { describe, expect, it } from 'vitest';
import type { InjectOptions } from 'fastify';
import { expectFieldRefused, post, snapshot, submission, useInputWorld } from './strict-input.world.ts';

/**
 * Security review, issues 18 and 10: a JSON body is taken as sent (no coercion, `null` is not
 * "no", identifiers are strings), and NUL bytes and ids beyond what PostgreSQL and JavaScript hold
 * are refused with 400 instead of failing with 500. Every refusal names its field and writes nothing.
 */

const w = useInputWorld();
const body = (change: Record<string, unknown>) => submission(w, change);
/** Signed in with northwind admin's API token unless `headers` say otherwise. */
const send = (url: string, payload: unknown, headers: Record<string, string> = w.admin) =>
  post(url, payload, headers);
const get = (url: string): InjectOptions => ({ method: 'GET', url, headers: w.admin });
const cursorOf = (key: string) => Buffer.from(key).toString('base64url');
/** The submission as raw JSON with `devices` replaced by `devicesJson` (a 20-digit number, say). */
const rawSubmission = (devicesJson: string) =>
  JSON.stringify(body({ devices: '@DEVICES@' })).replace('"@DEVICES@"', devicesJson);

interface Case {
  name: string;
  request: () => InjectOptions;
  /** The offending field as a JSON pointer and where it was, checked in `error.details`. */
  path: string;
  in?: 'body' | 'params' | 'querystring';
}

const BULK = '/api/v1/bulk-changes';
const bodyCases: Case[] = [
  { name: 'devices as a string', request: () => send(BULK, body({ devices: 'x' })), path: '/devices' },
  { name: 'devices: null', request: () => send(BULK, body({ devices: null })), path: '/devices' },
  {
    name: 'a device as a number',
    request: () => send(BULK, body({ devices: [1234567] })),
    path: '/devices/0',
  },
  {
    name: 'an ICCID as a JSON number (float64 would change its digits)',
    request: () => send(BULK, rawSubmission(`[${w.devices[0]!}]`)),
    path: '/devices/0',
  },
  { name: 'a device: null', request: () => send(BULK, body({ devices: [null] })), path: '/devices/0' },
  { name: 'a device: true', request: () => send(BULK, body({ devices: [true] })), path: '/devices/0' },
  {
    name: 'customerId as a string',
    request: () => send(BULK, body({ customerId: String(w.fleet.amopCustomer.id) })),
    path: '/customerId',
  },
  {
    name: 'serviceProviderId as a string',
    request: () => send(BULK, body({ serviceProviderId: String(w.fleet.thingspace) })),
    path: '/serviceProviderId',
  },
  {
    name: 'customerId: null',
    request: () => send(BULK, body({ customerId: null })),
    path: '/customerId',
  },
  {
    name: 'createRevService: "false"',
    request: () => send(BULK, body({ createRevService: 'false' })),
    path: '/createRevService',
  },
  {
    name: 'createRevService: null',
    request: () => send(BULK, body({ createRevService: null })),
    path: '/createRevService',
  },
  {
    name: 'addCarrierRatePlan: 0',
    request: () => send(BULK, body({ addCarrierRatePlan: 0 })),
    path: '/addCarrierRatePlan',
  },
  { name: 'dryRun: null', request: () => send(BULK, body({ dryRun: null })), path: '/dryRun' },
  { name: 'dryRun: 1', request: () => send(BULK, body({ dryRun: 1 })), path: '/dryRun' },
  { name: 'dryRun: "true"', request: () => send(BULK, body({ dryRun: 'true' })), path: '/dryRun' },
  { name: 'siteId: null', request: () => send(BULK, body({ siteId: null })), path: '/siteId' },
  { name: 'filter: null', request: () => send(BULK, body({ filter: null })), path: '/filter' },
  {
    name: 'revService: null',
    request: () => send(BULK, body({ revService: null })),
    path: '/revService',
  },
  {
    name: 'effectiveDate: null',
    request: () => send(BULK, body({ effectiveDate: null })),
    path: '/effectiveDate',
  },
  {
    name: 'a product rate as a string',
    request: () =>
      send(
        BULK,
        body({
          createRevService: true,
          revService: { serviceTypeId: 3, products: [{ productId: 11, rate: '4.5' }] },
        }),
      ),
    path: '/revService/products/0/rate',
  },
  { name: 'the body is null', request: () => send(BULK, 'null'), path: '' },
  {
    name: 'login e-mail as a number',
    request: () => send('/api/v1/auth/login', { email: 12345, password: 'x' }, {}),
    path: '/email',
  },
  {
    name: 'login password: null',
    request: () => send('/api/v1/auth/login', { email: 'admin@northwind.example', password: null }, {}),
    path: '/password',
  },
  {
    name: 'token name as a number',
    request: () => send('/api/v1/auth/tokens', { name: 12345 }, w.session),
    path: '/name',
  },
  {
    name: 'token name: null',
    request: () => send('/api/v1/auth/tokens', { name: null }, w.session),
    path: '/name',
  },
  {
    name: 'token expiresInDays as a string',
    request: () => send('/api/v1/auth/tokens', { name: 'ci', expiresInDays: '30' }, w.session),
    path: '/expiresInDays',
  },
];

const BEYOND_BIGINT = '99999999999999999999';
const BEYOND_SAFE = '9007199254740993';
const nulCases: Case[] = [
  {
    name: 'a NUL byte in a device',
    request: () => send(BULK, body({ devices: [`${w.devices[0]!}\u0000`] })),
    path: '/devices/0',
  },
  {
    name: 'a NUL byte in a carrier rate plan',
    request: () => send(BULK, body({ addCarrierRatePlan: true, carrierRatePlan: { ratePlan: 'M2M\u0000' } })),
    path: '/carrierRatePlan/ratePlan',
  },
  {
    name: 'a NUL byte in the login e-mail',
    request: () => send('/api/v1/auth/login', { email: 'admin\u0000@northwind.example', password: 'x' }, {}),
    path: '/email',
  },
  {
    name: 'a NUL byte in a token name',
    request: () => send('/api/v1/auth/tokens', { name: 'ci\u0000' }, w.session),
    path: '/name',
  },
  { name: 'a NUL byte in a customer search', request: () => get('/api/v1/customers?q=a%00b'), path: '/q' },
  {
    name: 'a device id beyond bigint',
    request: () => get(`/api/v1/devices/${BEYOND_BIGINT}/history`),
    path: '/id',
    in: 'params',
  },
  {
    name: 'a device id just beyond bigint',
    request: () => get('/api/v1/devices/9223372036854775808/history'),
    path: '/id',
    in: 'params',
  },
  {
    name: 'a device id beyond the exact integers of JavaScript',
    request: () => get(`/api/v1/devices/${BEYOND_SAFE}/history`),
    path: '/id',
    in: 'params',
  },
  {
    name: 'a bulk change id beyond bigint',
    request: () => get(`${BULK}/${BEYOND_BIGINT}`),
    path: '/id',
    in: 'params',
  },
  {
    name: 'cancel of a bulk change id beyond bigint',
    request: () => send(`${BULK}/${BEYOND_BIGINT}/cancel`, undefined),
    path: '/id',
    in: 'params',
  },
  {
    name: 'a customerId filter beyond bigint',
    request: () => get(`/api/v1/devices?customerId=${BEYOND_BIGINT}`),
    path: '/customerId',
    in: 'querystring',
  },
  {
    name: 'a deviceId filter beyond bigint',
    request: () => get(`${BULK}/1/logs?deviceId=${BEYOND_BIGINT}`),
    path: '/deviceId',
    in: 'querystring',
  },
  {
    name: 'a submission naming a customer beyond bigint',
    request: () =>
      send(
        BULK,
        rawSubmission(JSON.stringify(w.devices)).replace(/"customerId":\d+/, `"customerId":${BEYOND_BIGINT}`),
      ),
    path: '/customerId',
    in: 'body',
  },
  {
    name: 'a device cursor with an id beyond bigint',
    request: () => get(`/api/v1/devices?cursor=${cursorOf(`{"id":${BEYOND_BIGINT}}`)}`),
    path: '/cursor',
  },
  {
    name: 'a device cursor with a fractional id',
    request: () => get(`/api/v1/devices?cursor=${cursorOf('{"id":1.5}')}`),
    path: '/cursor',
  },
  {
    name: 'a bulk-change cursor with an id beyond bigint',
    request: () => get(`${BULK}?cursor=${cursorOf(`{"id":${BEYOND_BIGINT}}`)}`),
    path: '/cursor',
  },
  {
    name: 'a token cursor with an id beyond bigint',
    request: () => ({ ...get(`/api/v1/auth/tokens?cursor=${cursorOf('{"id":1e300}')}`), headers: w.session }),
    path: '/cursor',
  },
];

describe('JSON bodies are taken as sent: no coercion, null is not "no"', () => {
  it.each(bodyCases)('$name: 400 naming the field, nothing written', async (c) => {
    const before = await snapshot(w);
    expectFieldRefused(await w.app.inject(c.request()), c.path, 'body');
    expect(await snapshot(w)).toEqual(before);
  });

  it('the body of these cases is valid without its defect (a dry run of it answers 200)', async () => {
    const res = await w.app.inject(send(BULK, body({ dryRun: true })));
    expect(res.statusCode, res.body).toBe(200);
  });

  it('query strings still coerce: ?limit=1 is the number 1', async () => {
    const res = await w.app.inject(get(`/api/v1/devices?limit=1&serviceProviderId=${w.fleet.thingspace}`));
    expect(res.statusCode).toBe(200);
    expect(res.json<{ items: unknown[] }>().items).toHaveLength(1);
  });
});

describe('NUL bytes and ids beyond bigint answer 400, not 500', () => {
  it.each(nulCases)('$name', async (c) => {
    const before = await snapshot(w);
    expectFieldRefused(await w.app.inject(c.request()), c.path, c.in);
    expect(await snapshot(w)).toEqual(before);
  });
});
