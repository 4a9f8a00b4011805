import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  buildThingSpaceSimulator,
  type ThingSpaceSimulatorOptions,
} from '../../simulators/thingspace.simulator.ts';
import type { RecordedRequest } from '../../simulators/sim-control.ts';
import {
  createThingSpaceClient,
  parseCarrierCallback,
  type ThingSpaceClient,
  type ThingSpaceClientDeps,
  type ThingSpaceCredentials,
} from '../../src/clients/thingspace.client.ts';
import { closeHttpAgent } from '../../src/clients/http-client.ts';
import type { AccountLimit, RateGate } from '../../src/clients/rate-gate.ts';
import { InvalidInputError, PermanentError, RetryableError, type Exchange } from '../../src/errors.ts';

const ACCOUNT = '0342077109-00001';
const APP_KEY = 'app-key-7f3a';
const APP_SECRET = 'app-secret-Qz81xLm';
const USERNAME = 'simbind-api';
const PASSWORD = 'pw-Hk29!vRt';
const ICCID = {
  active: '89148000000000000011',
  other: '89148000000000000022',
  suspended: '89148000000000000033',
  throttled: '89148000000000000429',
  broken: '89148000000000000500',
  missing: '89148000000000000404',
};

const servers: FastifyInstance[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
afterAll(closeHttpAgent);

async function startSimulator(options: ThingSpaceSimulatorOptions = {}) {
  const app = buildThingSpaceSimulator({
    appKey: APP_KEY,
    appSecret: APP_SECRET,
    users: [{ username: USERNAME, password: PASSWORD }],
    asyncDelayMs: 100,
    devices: [
      { accountName: ACCOUNT, iccid: ICCID.active, servicePlan: 'M2M-5GB' },
      { accountName: ACCOUNT, iccid: ICCID.other, servicePlan: 'M2M-5GB' },
      { accountName: ACCOUNT, iccid: ICCID.suspended, servicePlan: 'M2M-5GB', state: 'suspend' },
      { accountName: ACCOUNT, iccid: ICCID.throttled, servicePlan: 'M2M-5GB' },
      { accountName: ACCOUNT, iccid: ICCID.broken, servicePlan: 'M2M-5GB' },
    ],
    ...options,
  });
  servers.push(app);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    creds: (overrides: Partial<ThingSpaceCredentials> = {}): ThingSpaceCredentials => ({
      id: 'ts-main',
      baseUrl: `${address}/api`,
      appKey: APP_KEY,
      appSecret: APP_SECRET,
      username: USERNAME,
      password: PASSWORD,
      accountName: ACCOUNT,
      ...overrides,
    }),
    requests: async (path = '/api/') => {
      const res = await app.inject({
        method: 'GET',
        url: `/__sim/requests?path=${encodeURIComponent(path)}`,
      });
      return res.json<RecordedRequest[]>();
    },
    state: async () => (await app.inject({ method: 'GET', url: '/__sim/state' })).json<SimState>(),
  };
}

interface SimState {
  devices: { iccid: string; servicePlan: string; planChangesThisMonth: number }[];
  deliveries: { requestId: string; status?: number; error?: string }[];
  failedLogins: Record<string, number>;
}

const TOKEN_PATH = '/api/ts/v1/oauth2/token';
const LOGIN_PATH = '/api/m2m/v1/session/login';
const LIST_PATH = '/api/m2m/v1/devices/actions/list';

/** A gate that lets everything through and counts: one acquire (and release) per HTTP request. */
function countingGate() {
  const acquired: AccountLimit[] = [];
  let released = 0;
  const gate: RateGate = {
    acquire: (limit) => {
      acquired.push(limit);
      return Promise.resolve(() => {
        released += 1;
        return Promise.resolve();
      });
    },
  };
  return { gate, acquired, released: () => released };
}

function newClient(overrides: Partial<ThingSpaceClientDeps> = {}) {
  const counting = countingGate();
  const exchanges: Exchange[] = [];
  const client = createThingSpaceClient({
    gate: counting.gate,
    timeoutMs: 2_000,
    onExchange: (exchange) => exchanges.push(exchange),
    ...overrides,
  });
  return { client, exchanges, ...counting };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function pollUntilSettled(client: ThingSpaceClient, creds: ThingSpaceCredentials, requestId: string) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const { value } = await client.getRequestStatus(creds, requestId);
    if (value.status !== 'Pending' || Date.now() > deadline) return value;
    await sleep(25);
  }
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition()) && Date.now() < deadline) await sleep(20);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

const header = (r: RecordedRequest, name: string) => r.headers[name];

describe('ThingSpace client against the simulator', () => {
  it('fetches one OAuth token and logs in once, then reuses both across calls', async () => {
    const sim = await startSimulator();
    const { client } = newClient();
    const creds = sim.creds();

    const first = await client.findDevice(creds, ICCID.active);
    await client.findDevice(creds, ICCID.other);
    const { value } = await client.changeServicePlan(creds, { iccid: ICCID.active, servicePlan: 'M2M-10GB' });

    expect(first.value).toEqual({ accountName: ACCOUNT, servicePlan: 'M2M-5GB', state: 'active' });
    expect(value.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await sim.requests(TOKEN_PATH)).toHaveLength(1);
    expect(await sim.requests(LOGIN_PATH)).toHaveLength(1);
    const m2m = (await sim.requests('/api/m2m/v1/devices/')).filter((r) => r.status === 200);
    expect(m2m).toHaveLength(3);
    expect(new Set(m2m.map((r) => header(r, 'authorization'))).size).toBe(1);
    expect(new Set(m2m.map((r) => header(r, 'vz-m2m-token'))).size).toBe(1);
  });

  it('shares one token fetch and one login between concurrent first callers', async () => {
    const sim = await startSimulator();
    const { client } = newClient();
    const creds = sim.creds();

    const found = await Promise.all(Array.from({ length: 6 }, () => client.findDevice(creds, ICCID.active)));

    expect(found.every((f) => f.value?.servicePlan === 'M2M-5GB')).toBe(true);
    expect(await sim.requests(TOKEN_PATH)).toHaveLength(1);
    expect(await sim.requests(LOGIN_PATH)).toHaveLength(1);
  });

  it('logs in again exactly once when the session has expired, and the call then succeeds', async () => {
    const sim = await startSimulator({ sessionIdleMs: 250 });
    const { client } = newClient();
    const creds = sim.creds();

    await client.findDevice(creds, ICCID.active);
    await sleep(400);
    const { value } = await client.findDevice(creds, ICCID.active);

    expect(value?.servicePlan).toBe('M2M-5GB');
    expect(await sim.requests(LOGIN_PATH)).toHaveLength(2);
    expect(await sim.requests(TOKEN_PATH)).toHaveLength(1);
    const lists = await sim.requests(LIST_PATH);
    expect(lists.map((r) => r.status)).toEqual([200, 400, 200]);
  });

  it('fetches a new OAuth token when the cached one nears its expires_in', async () => {
    const sim = await startSimulator();
    let clock = 1_000_000;
    const { client } = newClient({ now: () => clock });
    const creds = sim.creds();

    await client.findDevice(creds, ICCID.active);
    clock += 3_600_000;
    await client.findDevice(creds, ICCID.active);

    const tokens = await sim.requests(TOKEN_PATH);
    expect(tokens).toHaveLength(2);
    expect((await sim.requests('/api/m2m/')).filter((r) => r.status === 401)).toHaveLength(0);
  });

  it('drops a token the gateway refuses (401 fault), fetches a new one and retries once', async () => {
    // expires_in says 1 s but the simulator forgets the token after 400 ms: the client learns by a 401.
    const sim = await startSimulator({ tokenLifetimeMs: 400 });
    const { client } = newClient();
    const creds = sim.creds();

    await client.findDevice(creds, ICCID.active);
    await sleep(500);
    const { value } = await client.findDevice(creds, ICCID.active);

    expect(value?.state).toBe('active');
    expect(await sim.requests(TOKEN_PATH)).toHaveLength(2);
    expect((await sim.requests(LIST_PATH)).map((r) => r.status)).toEqual([200, 401, 200]);
  });

  it('maps a wrong password to PermanentError and stops after 4 failed logins, before the lock', async () => {
    const sim = await startSimulator();
    const { client } = newClient();
    const wrong = sim.creds({ password: 'not-the-password' });

    for (let attempt = 1; attempt <= 4; attempt += 1) {
      const error = await rejection(client.findDevice(wrong, ICCID.active));
      expect(error).toBeInstanceOf(PermanentError);
      expect(error).toMatchObject({
        status: 400,
        remoteCode: 'UnifiedWebService.REQUEST_FAILED.InvalidCredentials',
      });
    }
    const refused = await rejection(client.findDevice(wrong, ICCID.active));

    expect(refused).toBeInstanceOf(PermanentError);
    expect((refused as PermanentError).message).toMatch(/4 failed logins.*lock/);
    expect(await sim.requests(LOGIN_PATH)).toHaveLength(4);
    expect((await sim.state()).failedLogins[USERNAME]).toBe(4);
    // Not locked: the right password still gets in (a fresh client, as after a restart).
    const { value } = await newClient().client.findDevice(sim.creds(), ICCID.active);
    expect(value?.servicePlan).toBe('M2M-5GB');
  });

  it('changes a plan asynchronously: Pending, then Success, and the device has the new plan', async () => {
    const sim = await startSimulator({ asyncDelayMs: 200 });
    const { client } = newClient();
    const creds = sim.creds();

    const { value } = await client.changeServicePlan(creds, { iccid: ICCID.active, servicePlan: 'M2M-10GB' });
    const pending = await client.getRequestStatus(creds, value.requestId);
    const settled = await pollUntilSettled(client, creds, value.requestId);

    expect(pending.value).toEqual({ status: 'Pending' });
    expect(settled).toEqual({ status: 'Success' });
    expect((await client.findDevice(creds, ICCID.active)).value?.servicePlan).toBe('M2M-10GB');
    const [change] = (await sim.requests('/api/m2m/v1/devices/actions/plan')).map((r) => r.body);
    expect(change).toEqual({
      devices: [{ deviceIds: [{ kind: 'iccid', id: ICCID.active }] }],
      servicePlan: 'M2M-10GB',
    });
  });

  it('reports a plan change on a suspended device as Failed with the fault', async () => {
    const sim = await startSimulator();
    const { client } = newClient();
    const creds = sim.creds();

    const { value } = await client.changeServicePlan(creds, {
      iccid: ICCID.suspended,
      servicePlan: 'M2M-10GB',
    });
    const settled = await pollUntilSettled(client, creds, value.requestId);

    expect(settled.status).toBe('Failed');
    expect(settled.faultCode).toBe('ServicePlanChange.DeviceNotActive');
    expect(settled.faultString).toMatch(/suspend/);
    expect((await sim.state()).devices.find((d) => d.iccid === ICCID.suspended)?.servicePlan).toBe('M2M-5GB');
  });

  it('delivers the result to the registered CarrierService callback in a shape parseCarrierCallback accepts', async () => {
    const sim = await startSimulator();
    const received: unknown[] = [];
    const receiver = Fastify({ logger: false });
    servers.push(receiver);
    receiver.post('/thingspace/callback', (request) => {
      received.push(request.body);
      return { ok: true };
    });
    const receiverUrl = `${await receiver.listen({ port: 0, host: '127.0.0.1' })}/thingspace/callback`;
    const { client } = newClient();
    const creds = sim.creds();

    await client.registerCallback(creds, receiverUrl);
    const { value } = await client.changeServicePlan(creds, { iccid: ICCID.other, servicePlan: 'M2M-1GB' });
    await waitFor(async () => received.length > 0 && (await sim.state()).deliveries.length > 0);

    expect(received).toHaveLength(1);
    expect(parseCarrierCallback(received[0])).toEqual({
      requestId: value.requestId,
      status: 'Success',
      iccids: [ICCID.other],
    });
    expect((await sim.state()).deliveries).toMatchObject([{ requestId: value.requestId, status: 200 }]);
  });

  it('turns the throttled ICCID (…0429) into RetryableError with retryAfterMs 1000', async () => {
    const sim = await startSimulator();
    const { client } = newClient();
    const creds = sim.creds();

    const error = await rejection(
      client.changeServicePlan(creds, { iccid: ICCID.throttled, servicePlan: 'M2M-1GB' }),
    );

    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ status: 429, retryAfterMs: 1000 });
    const again = await client.changeServicePlan(creds, { iccid: ICCID.throttled, servicePlan: 'M2M-1GB' });
    expect(again.value.requestId).toBeTruthy();
  });

  it('turns a 500 (…0500) into RetryableError carrying the remote code', async () => {
    const sim = await startSimulator();
    const { client } = newClient();

    const error = await rejection(
      client.changeServicePlan(sim.creds(), { iccid: ICCID.broken, servicePlan: 'M2M-1GB' }),
    );

    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({
      status: 500,
      remoteCode: 'UnifiedWebService.REQUEST_FAILED.UnexpectedError',
    });
  });

  it('finds no device for an unknown ICCID (…0404) and refuses a plan change for it', async () => {
    const sim = await startSimulator();
    const { client } = newClient();
    const creds = sim.creds();

    expect((await client.findDevice(creds, ICCID.missing)).value).toBeUndefined();
    const error = await rejection(
      client.changeServicePlan(creds, { iccid: ICCID.missing, servicePlan: 'X' }),
    );
    expect(error).toMatchObject({
      status: 400,
      remoteCode: 'UnifiedWebService.REQUEST_FAILED.DeviceNotFound',
    });
  });

  it("walks the account's inventory by the last ICCID seen: every device once, in order, no other account's", async () => {
    const many = Array.from({ length: 1_203 }, (_, i) => ({
      accountName: ACCOUNT,
      iccid: `8914800000${String(100_000 + i).padStart(10, '0')}`,
      servicePlan: 'M2M-1GB',
      mdn: `1555${String(i).padStart(6, '0')}`,
      imei: `35${String(i).padStart(13, '0')}`,
    }));
    const sim = await startSimulator({
      devices: [...many, { accountName: 'another-account', iccid: '89148000000000000999', servicePlan: 'X' }],
    });
    const { client } = newClient();
    const creds = sim.creds();
    const pages: { iccids: string[]; hasMoreData: boolean }[] = [];
    let after: { lastSeenIccid: string } | undefined;
    for (;;) {
      const { value } = await client.listAccountDevices(creds, after);
      pages.push({ iccids: value.devices.map((d) => d.iccid), hasMoreData: value.hasMoreData });
      if (!value.hasMoreData) break;
      after = { lastSeenIccid: value.lastSeenIccid! };
    }
    expect(pages.map((p) => [p.iccids.length, p.hasMoreData])).toEqual([
      [500, true],
      [500, true],
      [203, false],
    ]);
    expect(pages.flatMap((p) => p.iccids)).toEqual(many.map((d) => d.iccid));
    const { value: first } = await client.listAccountDevices(creds);
    expect(first.devices.find((d) => d.iccid === many[0]!.iccid)).toEqual({
      iccid: many[0]!.iccid,
      imei: many[0]!.imei,
      mdn: many[0]!.mdn,
      servicePlan: 'M2M-1GB',
      state: 'active',
    });
    const listCalls = (await sim.requests(LIST_PATH)).map((r) => r.body);
    expect(listCalls[1]).toEqual({
      accountName: ACCOUNT,
      lastSeenDeviceKind: 'iccid',
      lastSeenDeviceId: pages[0]!.iccids[499],
    });
  });

  it("lists the account's service plans with both tokens, typed", async () => {
    const sim = await startSimulator({
      servicePlans: [
        { name: 'M2M 1 GB shared', code: 'M2M-1GB-SHR', carrierServicePlanCode: '84777' },
        { name: 'M2M 3G legacy', code: 'M2M-3G', isActive: false },
      ],
    });
    const { client } = newClient();
    const { value } = await client.listServicePlans(sim.creds());
    expect(value).toEqual([
      { code: 'M2M-1GB-SHR', name: 'M2M 1 GB shared', active: true, carrierServicePlanCode: '84777' },
      { code: 'M2M-3G', name: 'M2M 3G legacy', active: false, carrierServicePlanCode: 'M2M-3G' },
    ]);
    const [call] = await sim.requests('/api/m2m/v1/plans');
    expect(call?.path).toBe(`/api/m2m/v1/plans/${ACCOUNT}`);
    expect(typeof header(call!, 'vz-m2m-token')).toBe('string');
  });

  it('refuses a service plan list that is not one, for good', async () => {
    const sim = await startSimulator();
    await sim.app.inject({
      method: 'POST',
      url: '/__sim/faults',
      payload: { path: '/api/m2m/v1/plans', status: 200 },
    });
    const error = await rejection(newClient().client.listServicePlans(sim.creds()));
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/service plan list that is not an array/);
  });

  it('never records a secret in any exchange: app secret, password, access token, session token', async () => {
    const sim = await startSimulator({ sessionIdleMs: 250 });
    const { client, exchanges } = newClient();
    const creds = sim.creds();
    const errors: unknown[] = [];

    const change = await client.changeServicePlan(creds, { iccid: ICCID.active, servicePlan: 'M2M-10GB' });
    await sleep(400); // session expires: the refused call and the re-login are recorded too
    const status = await client.getRequestStatus(creds, change.value.requestId);
    errors.push(
      await rejection(
        client.findDevice(sim.creds({ id: 'ts-bad', password: `${PASSWORD}-typo` }), ICCID.active),
      ),
    );

    const recorded = [...exchanges, change.exchange, status.exchange, (errors[0] as PermanentError).exchange];
    const paths = recorded.map((e) => new URL(e?.url ?? 'http://x/none').pathname);
    expect(paths).toEqual(
      expect.arrayContaining([TOKEN_PATH, LOGIN_PATH, '/api/m2m/v1/devices/actions/plan']),
    );
    const issued = (await sim.requests('/api/m2m/')).flatMap((r) => [
      String(header(r, 'authorization')).replace(/^Bearer /, ''),
      String(header(r, 'vz-m2m-token') ?? ''),
    ]);
    const secrets = [APP_SECRET, PASSWORD, Buffer.from(`${APP_KEY}:${APP_SECRET}`).toString('base64')];
    secrets.push(...new Set(issued.filter((value) => value.length > 8)));
    expect(secrets.length).toBeGreaterThanOrEqual(6); // the app secret, password, basic, 1 token, 2 sessions
    const text = JSON.stringify(recorded) + JSON.stringify(errors.map((e) => (e as Error).message));
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it('acquires the gate once per HTTP request, retries and logins included, and releases each', async () => {
    const sim = await startSimulator({ sessionIdleMs: 250 });
    const { client, acquired, released } = newClient();
    const creds = sim.creds({ rateLimit: { requests: 3, windowMs: 500 } });

    await client.findDevice(creds, ICCID.active);
    await sleep(400);
    await client.findDevice(creds, ICCID.active);

    const sent = await sim.requests('/api/');
    expect(sent).toHaveLength(6); // token, login, list, list (expired), login, list
    expect(acquired).toHaveLength(sent.length);
    expect(released()).toBe(sent.length);
    expect(
      acquired.every((l) => l.key === 'thingspace:ts-main' && l.requests === 3 && l.windowMs === 500),
    ).toBe(true);
  });

  it('uses the default limit of 10 requests per second when the credentials set none', async () => {
    const sim = await startSimulator();
    const { client, acquired } = newClient();

    await client.findDevice(sim.creds(), ICCID.active);

    expect(acquired[0]).toEqual({ key: 'thingspace:ts-main', requests: 10, windowMs: 1_000 });
  });
});

describe('ThingSpace simulator', () => {
  it('locks the user after 5 failed logins: then even the right password is refused', async () => {
    const sim = await startSimulator();
    const basic = Buffer.from(`${APP_KEY}:${APP_SECRET}`).toString('base64');
    const token = await sim.app.inject({
      method: 'POST',
      url: TOKEN_PATH,
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=client_credentials',
    });
    const bearer = `Bearer ${token.json<{ access_token: string }>().access_token}`;
    const login = (password: string) =>
      sim.app.inject({
        method: 'POST',
        url: LOGIN_PATH,
        headers: { authorization: bearer },
        payload: { username: USERNAME, password },
      });

    for (let i = 0; i < 5; i += 1) {
      expect((await login('wrong')).json()).toMatchObject({
        errorCode: 'UnifiedWebService.REQUEST_FAILED.InvalidCredentials',
      });
    }
    const locked = await login(PASSWORD);

    expect(locked.statusCode).toBe(400);
    expect(locked.json()).toMatchObject({ errorCode: 'UnifiedWebService.REQUEST_FAILED.AccountLocked' });
  });

  it('answers 429 with Retry-After beyond its configured rate limit', async () => {
    const sim = await startSimulator({ rateLimit: { requests: 2, windowMs: 60_000 } });
    const { client } = newClient();

    const error = await rejection(client.findDevice(sim.creds(), ICCID.active));

    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).status).toBe(429);
    expect((error as RetryableError).retryAfterMs).toBeGreaterThan(50_000);
    expect((await sim.requests('/api/')).map((r) => r.status)).toEqual([200, 200, 429]);
  });
});

describe('parseCarrierCallback', () => {
  it('reads a failed result with its fault and keeps only ICCIDs', () => {
    const parsed = parseCarrierCallback({
      requestId: 'c8d2a1e0-0000-4000-8000-000000000001',
      deviceIds: [
        { kind: 'iccid', id: ICCID.active },
        { kind: 'mdn', id: '5551234567' },
      ],
      status: 'Failed',
      faultResponse: { faultcode: 'ServicePlanChange.DeviceNotActive', faultstring: 'suspended' },
    });

    expect(parsed).toEqual({
      requestId: 'c8d2a1e0-0000-4000-8000-000000000001',
      status: 'Failed',
      iccids: [ICCID.active],
      faultCode: 'ServicePlanChange.DeviceNotActive',
      faultString: 'suspended',
    });
  });

  it('rejects garbage with every problem listed', () => {
    expect(() => parseCarrierCallback('nope')).toThrow(InvalidInputError);
    let error: unknown;
    try {
      parseCarrierCallback({ requestId: '', status: 'Done', deviceIds: [{ kind: 'iccid' }] });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(InvalidInputError);
    const problems = (error as InvalidInputError).details as { path: string }[];
    expect(problems.map((p) => p.path)).toEqual(['/requestId', '/status', '/deviceIds/0']);
  });
});
