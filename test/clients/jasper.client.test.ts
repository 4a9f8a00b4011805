import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeHttpAgent } from '../../src/clients/http-client.ts';
import {
  createJasperClient,
  type JasperClient,
  type JasperCredentials,
} from '../../src/clients/jasper.client.ts';
import { createMemoryRateGate } from '../../src/clients/memory-rate-gate.ts';
import { unlimitedGate } from '../../src/clients/rate-gate.ts';
import { PermanentError, RetryableError } from '../../src/errors.ts';
import { buildJasperSimulator, type JasperSimState } from '../../simulators/jasper.simulator.ts';
import type { RecordedRequest } from '../../simulators/sim-control.ts';

const ICCID = '89011704278930000011';
const API_KEY = 'contract-test-api-key-7f3a';

let sim: FastifyInstance;
let creds: JasperCredentials;
let client: JasperClient;

beforeAll(async () => {
  sim = buildJasperSimulator({
    accounts: [{ username: 'contract', apiKey: API_KEY }],
    ratePlans: ['RP Basic', 'RP Pooled 1GB'],
    communicationPlans: ['CP Data'],
    devices: [{ iccid: ICCID, imsi: '310170000000011', status: 'ACTIVATED', ratePlan: 'RP Basic' }],
  });
  await sim.listen({ port: 0, host: '127.0.0.1' });
  const { port } = sim.server.address() as AddressInfo;
  creds = {
    id: 'contract',
    baseUrl: `http://127.0.0.1:${port}/rws/api/v1/`,
    username: 'contract',
    apiKey: API_KEY,
  };
});

beforeEach(async () => {
  await sim.inject({ method: 'POST', url: '/__sim/reset' });
  client = createJasperClient({ gate: createMemoryRateGate(), timeoutMs: 5_000 });
});

afterAll(async () => {
  await sim.close();
  await closeHttpAgent();
});

async function simState(): Promise<JasperSimState> {
  return (await sim.inject({ method: 'GET', url: '/__sim/state' })).json<JasperSimState>();
}

async function recorded(): Promise<RecordedRequest[]> {
  return (await sim.inject({ method: 'GET', url: '/__sim/requests' })).json<RecordedRequest[]>();
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected the call to fail'),
    (error: unknown) => error,
  );
}

/** Largest number of timestamps in any half-open window [t, t + windowMs). */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let busiest = 0;
  for (let i = 0, j = 0; j < sorted.length; j++) {
    while ((sorted[j] ?? 0) - (sorted[i] ?? 0) >= windowMs) i++;
    busiest = Math.max(busiest, j - i + 1);
  }
  return busiest;
}

function ymdDaysAhead(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

describe('Jasper client against the simulator', () => {
  it('reads a device', async () => {
    const { value, exchange } = await client.getDevice(creds, ICCID);
    expect(value).toMatchObject({
      iccid: ICCID,
      imsi: '310170000000011',
      status: 'ACTIVATED',
      ratePlan: 'RP Basic',
    });
    expect(exchange).toMatchObject({ method: 'GET', status: 200 });
    expect(exchange.url).toMatch(new RegExp(`/rws/api/v1/devices/${ICCID}$`));
  });

  it('reads a device seeded through POST /__sim/devices', async () => {
    const iccid = '8901170427893000777';
    await sim.inject({ method: 'POST', url: '/__sim/devices', payload: [{ iccid, status: 'INVENTORY' }] });
    expect((await client.getDevice(creds, iccid)).value).toMatchObject({ iccid, status: 'INVENTORY' });
  });

  it('edits a device now: 200, not scheduled, applied, only the given fields sent', async () => {
    const { value } = await client.editDevice(creds, ICCID, { ratePlan: 'RP Pooled 1GB', customer: 'ACME' });
    expect(value).toEqual({ iccid: ICCID, scheduled: false });

    const device = (await simState()).devices.find((d) => d.iccid === ICCID);
    expect(device).toMatchObject({ ratePlan: 'RP Pooled 1GB', customer: 'ACME', pending: [] });
    const [put] = await recorded();
    expect(put).toMatchObject({ method: 'PUT', body: { ratePlan: 'RP Pooled 1GB', customer: 'ACME' } });
    expect(Object.keys(put?.body as object).sort()).toEqual(['customer', 'ratePlan']);
  });

  it('schedules a future-dated edit: 202 → scheduled, sent as yyyy-MM-dd, not applied yet', async () => {
    const inThirtyDays = new Date(Date.now() + 30 * 86_400_000);
    const { value } = await client.editDevice(creds, ICCID, {
      ratePlan: 'RP Pooled 1GB',
      effectiveDate: inThirtyDays,
    });
    expect(value).toEqual({ iccid: ICCID, scheduled: true });

    const device = (await simState()).devices.find((d) => d.iccid === ICCID);
    expect(device?.ratePlan).toBe('RP Basic');
    expect(device?.pending).toMatchObject([
      { effectiveDate: ymdDaysAhead(30), changes: { ratePlan: 'RP Pooled 1GB' } },
    ]);
    expect((await recorded())[0]?.body).toEqual({
      ratePlan: 'RP Pooled 1GB',
      effectiveDate: ymdDaysAhead(30),
    });
  });

  it('refuses an effective date more than 180 days ahead', async () => {
    const error = await failure(
      client.editDevice(creds, ICCID, { ratePlan: 'RP Basic', effectiveDate: ymdDaysAhead(181) }),
    );
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ status: 400, remoteCode: '20000020' });
  });

  it('turns an invalid rate plan into a PermanentError with the remote message and code', async () => {
    const error = await failure(client.editDevice(creds, ICCID, { ratePlan: 'No Such Plan' }));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ system: 'jasper', status: 400, remoteCode: '20000017' });
    expect((error as PermanentError).message).toContain('Invalid rate plan');
  });

  it('turns bad credentials into a PermanentError 10000001 without leaking the API key', async () => {
    const wrongKey = 'wrong-key-that-must-not-leak-91c2';
    const error = await failure(client.getDevice({ ...creds, apiKey: wrongKey }, ICCID));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ status: 401, remoteCode: '10000001' });

    const basic = Buffer.from(`contract:${wrongKey}`).toString('base64');
    const seen = JSON.stringify({ error, exchange: (error as PermanentError).exchange });
    expect(seen).not.toContain(wrongKey);
    expect(seen).not.toContain(basic);
    // The key did travel (so the absence above means redaction, not that nothing was sent).
    expect((await recorded())[0]?.headers.authorization).toBe(`Basic ${basic}`);
  });

  it('keeps the API key out of a successful exchange too', async () => {
    const { exchange } = await client.editDevice(creds, ICCID, { status: 'DEACTIVATED' });
    const seen = JSON.stringify(exchange);
    expect(seen).not.toContain(API_KEY);
    expect(seen).not.toContain(Buffer.from(`contract:${API_KEY}`).toString('base64'));
  });

  it('turns an unknown ICCID into a PermanentError 404', async () => {
    for (const iccid of ['89011704278930000404', 'not-an-iccid']) {
      const error = await failure(client.getDevice(creds, iccid));
      expect(error).toBeInstanceOf(PermanentError);
      expect(error).toMatchObject({ status: 404, remoteCode: '20000001' });
    }
  });

  it('turns a 500 into a RetryableError', async () => {
    const error = await failure(client.editDevice(creds, '89011704278930000500', { status: 'ACTIVATED' }));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ status: 500, remoteCode: '30000001' });
  });

  it('turns a 429 into a RetryableError carrying Retry-After, and the retry succeeds', async () => {
    const iccid = '89011704278930000429';
    const error = await failure(client.getDevice(creds, iccid));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ status: 429, retryAfterMs: 1000 });
    expect((await client.getDevice(creds, iccid)).value.iccid).toBe(iccid);
  });

  it('fails for good on a 2xx without an iccid', async () => {
    await sim.inject({ method: 'POST', url: '/__sim/faults', payload: { path: '/rws/', status: 200 } });
    const error = await failure(client.getDevice(creds, ICCID));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ status: 200 });
  });
});

describe('Jasper catalogues (inferred lists)', () => {
  it('lists the rate plans and communication plans of the account, typed', async () => {
    const rates = await client.listRatePlans(creds);
    expect(rates.value).toEqual([
      { name: 'RP Basic', description: null, communicationPlan: null, active: true },
      { name: 'RP Pooled 1GB', description: null, communicationPlan: null, active: true },
    ]);
    const comms = await client.listCommunicationPlans(creds);
    expect(comms.value).toEqual([{ name: 'CP Data', description: null, active: true }]);
    expect((await recorded()).map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /rws/api/v1/rateplans',
      'GET /rws/api/v1/communicationplans',
    ]);
  });

  it('keeps descriptions, default communication plans and the status of plans that have them', async () => {
    const rich = buildJasperSimulator({
      accounts: [{ username: 'contract', apiKey: API_KEY }],
      ratePlans: [
        { name: 'IOT-1GB', description: 'IoT 1 GB', communicationPlan: 'CP-Standard-Data' },
        { name: 'IOT-OLD', status: 'INACTIVE' },
      ],
    });
    try {
      await rich.listen({ port: 0, host: '127.0.0.1' });
      const { port } = rich.server.address() as AddressInfo;
      const { value } = await client.listRatePlans({
        ...creds,
        baseUrl: `http://127.0.0.1:${port}/rws/api/v1`,
      });
      expect(value).toEqual([
        { name: 'IOT-1GB', description: 'IoT 1 GB', communicationPlan: 'CP-Standard-Data', active: true },
        { name: 'IOT-OLD', description: null, communicationPlan: null, active: false },
      ]);
    } finally {
      await rich.close();
    }
  });

  it('fails for good on an answer that is not a list of named plans, and retryably on a 500', async () => {
    await sim.inject({
      method: 'POST',
      url: '/__sim/faults',
      payload: { path: '/rws/api/v1/rateplans', status: 200 },
    });
    const error = await failure(client.listRatePlans(creds));
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/GET \/rateplans answered no list of named plans/);
    await sim.inject({ method: 'DELETE', url: '/__sim/faults' });
    await sim.inject({
      method: 'POST',
      url: '/__sim/faults',
      payload: { path: '/rws/api/v1/communicationplans', status: 500 },
    });
    expect(await failure(client.listCommunicationPlans(creds))).toBeInstanceOf(RetryableError);
  });
});

describe('Jasper limits: one in flight, 5 per second', () => {
  const burst = (jasper: JasperClient) =>
    Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        jasper.editDevice(creds, `890117042789310000${String(i).padStart(2, '0')}`, { customer: `C${i}` }),
      ),
    );

  // Without latency a loopback request can complete before the next one is parsed, hiding overlap.
  const slowDown = () =>
    sim.inject({ method: 'POST', url: '/__sim/faults', payload: { path: '/rws/', latencyMs: 25 } });

  it('the simulator refuses overlapping calls (so the next test can fail)', async () => {
    await slowDown();
    const results = await burst(createJasperClient({ gate: unlimitedGate, timeoutMs: 5_000 }));

    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((e) => e instanceof RetryableError && e.status === 429)).toBe(true);
    expect((await simState()).accounts.contract?.maxInFlight).toBeGreaterThan(1);
  });

  it('the simulator refuses a 6th call within a second (so the next test can fail)', async () => {
    const jasper = createJasperClient({ gate: unlimitedGate, timeoutMs: 5_000 });
    for (let i = 0; i < 5; i++) await jasper.getDevice(creds, ICCID);
    const error = await failure(jasper.getDevice(creds, ICCID));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ status: 429, retryAfterMs: 1000, remoteCode: '40000029' });
  });

  it('with the memory gate, 20 concurrent edits keep 1 in flight and ≤ 5 per rolling second', async () => {
    await slowDown();
    const results = await burst(client);

    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    const account = (await simState()).accounts.contract;
    expect(account).toMatchObject({ requests: 20, maxInFlight: 1, throttled: { concurrency: 0, rate: 0 } });
    expect(account?.acceptedAt).toHaveLength(20);
    expect(busiestWindow(account?.acceptedAt ?? [], 1000)).toBeLessThanOrEqual(5);
    expect((await recorded()).map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200));
  });
});
