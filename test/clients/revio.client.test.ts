import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeHttpAgent } from '../../src/clients/http-client.ts';
import type { AccountLimit, RateGate } from '../../src/clients/rate-gate.ts';
import { createRevioClient, type RevioCredentials } from '../../src/clients/revio.client.ts';
import { PermanentError, RetryableError } from '../../src/errors.ts';
import type { FaultRule, RecordedRequest } from '../../simulators/sim-control.ts';
import {
  buildRevioSimulator,
  DEMO_REVIO_ACCOUNT,
  revioSimState,
  type RevioSimulatorOptions,
  type SeedService,
} from '../../simulators/revio.simulator.ts';

/** A real gate that lets everything through and counts, to prove one acquire/release per request. */
class CountingGate implements RateGate {
  acquired: AccountLimit[] = [];
  released = 0;
  acquire(limit: AccountLimit) {
    this.acquired.push(limit);
    return Promise.resolve(() => {
      this.released += 1;
      return Promise.resolve();
    });
  }
}

const BULK_CUSTOMER = 7001;
const bulkServices: SeedService[] = Array.from({ length: 1203 }, (_, i) => ({
  customer_id: BULK_CUSTOMER,
  number: `555${String(i).padStart(7, '0')}`,
}));

const started: FastifyInstance[] = [];

async function startSim(options?: RevioSimulatorOptions) {
  const app = buildRevioSimulator(options);
  await app.listen({ port: 0, host: '127.0.0.1' });
  started.push(app);
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const root = `http://127.0.0.1:${address.port}`;
  const creds: RevioCredentials = { id: 'cred-1', baseUrl: `${root}/v1`, ...DEMO_REVIO_ACCOUNT };
  const control = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${root}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return res.json();
  };
  return { app, creds, control };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected the call to fail'),
    (error: unknown) => error,
  );
}

let sim: Awaited<ReturnType<typeof startSim>>;
let gate: CountingGate;
let revio: ReturnType<typeof createRevioClient>;

beforeAll(async () => {
  sim = await startSim({ services: bulkServices });
});

afterAll(async () => {
  await Promise.all(started.map((app) => app.close()));
  await closeHttpAgent();
});

beforeEach(async () => {
  await sim.control('POST', '/__sim/reset');
  gate = new CountingGate();
  revio = createRevioClient({ gate, timeoutMs: 2_000 });
});

const requests = async (path = '/v1') =>
  (await sim.control('GET', `/__sim/requests?path=${path}`)) as RecordedRequest[];
const faults = (rule: FaultRule) => sim.control('POST', '/__sim/faults', rule);

describe('revio client against the simulator', () => {
  it('creates a service with snake_case body, yyyy-MM-dd dates and no nulls', async () => {
    const { value, exchange } = await revio.createService(sim.creds, {
      customerId: 42,
      number: '5551230001',
      number2: '8901260000000000001',
      serviceTypeId: 2,
      providerId: 1,
      effectiveDate: new Date('2024-05-01T00:00:00Z'),
      activatedDate: '2024-04-30T18:00:00-05:00',
      description: null,
    });

    expect(value.serviceId).toBeGreaterThan(0);
    expect(exchange.status).toBe(201);
    const [sent] = await requests('/v1/Services');
    expect(sent?.body).toEqual({
      customer_id: 42,
      number: '5551230001',
      number2: '8901260000000000001',
      service_type_id: 2,
      provider_id: 1,
      effective_date: '2024-05-01',
      activated_date: '2024-04-30',
    });
    expect(sent?.headers.authorization).toBe(
      `Basic ${Buffer.from('simbind@demo:demo-password').toString('base64')}`,
    );
    expect(sent?.headers['ocp-apim-subscription-key']).toBe('demo-subscription-key');
    const stored = revioSimState(sim.app).services.find((s) => s.service_id === value.serviceId);
    expect(stored).toMatchObject({
      customer_id: 42,
      number2: '8901260000000000001',
      disconnected_date: null,
    });
  });

  it('creates a service product with quantity 1 by default and lists it back', async () => {
    const { value: line } = await revio.createService(sim.creds, { customerId: 42, number: '5551230002' });
    const { value } = await revio.createServiceProduct(sim.creds, {
      serviceId: line.serviceId,
      productId: 101,
      rate: 5,
      effectiveDate: '2024-05-01',
      generateProration: true,
    });

    const listed = await revio.listServiceProducts(sim.creds, line.serviceId);
    expect(listed.value).toEqual([
      {
        serviceProductId: value.serviceProductId,
        serviceId: line.serviceId,
        productId: 101,
        customerId: 42,
        disconnected: false,
        rate: 5,
        quantity: 1,
        effectiveDate: '2024-05-01',
        activatedDate: null,
      },
    ]);
    expect((await requests('/v1/ServiceProduct'))[0]?.body).toMatchObject({ quantity: 1 });
  });

  it('finds services by customer and number, mapped to camelCase with calendar dates', async () => {
    await revio.createService(sim.creds, { customerId: 43, number: 'A', activatedDate: '2024-01-02' });
    await revio.createService(sim.creds, { customerId: 43, number: 'B' });
    await revio.createService(sim.creds, { customerId: 44, number: 'A' });

    const { value } = await revio.findServices(sim.creds, { customerId: 43, number: 'A' });
    expect(value).toHaveLength(1);
    expect(value[0]).toMatchObject({ customerId: 43, number: 'A', activatedDate: '2024-01-02' });
    expect((await revio.findServices(sim.creds, { customerId: 43 })).value).toHaveLength(2);
  });

  it('reads customers and the catalogues', async () => {
    await sim.control('POST', '/__sim/customers', { customer_id: 77, name: 'Acme IoT' });
    expect((await revio.getCustomer(sim.creds, 77)).value).toMatchObject({
      customerId: 77,
      name: 'Acme IoT',
    });
    const unknown = await failure(revio.getCustomer(sim.creds, 999404));
    expect(unknown).toBeInstanceOf(PermanentError);
    expect(unknown).toMatchObject({ status: 404 });

    expect((await revio.listServiceTypes(sim.creds)).value).toContainEqual({
      serviceTypeId: 2,
      description: 'IoT Connectivity',
      active: true,
    });
    expect((await revio.listProducts(sim.creds)).value.map((p) => p.productId)).toEqual([
      11, 12, 13, 101, 102, 103, 104,
    ]);
    expect((await revio.listProviders(sim.creds)).value[0]).toEqual({
      providerId: 1,
      name: 'Verizon Wireless',
      active: true,
    });
  });

  it('reads every catalogue list, typed, with the active flag and default rates', async () => {
    const products = (await revio.listProducts(sim.creds)).value;
    expect(products.find((p) => p.productId === 11)).toEqual({
      productId: 11,
      description: 'M2M line access',
      rate: 4.5,
      active: true,
    });
    expect(products.find((p) => p.productId === 104)?.active).toBe(false);
    expect((await revio.listPackages(sim.creds)).value).toEqual([
      { packageId: 5, description: 'Tracker starter pack', active: true },
      { packageId: 77, description: 'Fleet telematics bundle', active: true },
    ]);
    expect((await revio.listUsagePlanGroups(sim.creds)).value.map((g) => g.usagePlanGroupId)).toEqual([1, 2]);
    const paths = (await requests()).map((r) => r.path);
    expect(paths).toEqual(['/v1/Products', '/v1/Packages', '/v1/UsagePlanGroups']);
  });

  it('walks search.page while has_more for a catalogue larger than a page', async () => {
    const many = Array.from({ length: 1203 }, (_, i) => ({
      product_id: 2000 + i,
      description: `Product ${i}`,
      rate: i / 100,
    }));
    const big = await startSim({ catalogue: { products: many } });
    const { value } = await revio.listProducts(big.creds);
    expect(value).toHaveLength(1203);
    expect(value.at(-1)).toEqual({ productId: 3202, description: 'Product 1202', rate: 12.02, active: true });
    const pages = ((await big.control('GET', '/__sim/requests?path=/v1/Products')) as RecordedRequest[]).map(
      (r) => r.query['search.page'],
    );
    expect(pages).toEqual(['1', '2', '3']);
  });

  it('refuses a catalogue record without its id instead of caching a product 0', async () => {
    const broken = await startSim({ catalogue: { packages: [{ description: 'No id' }] } });
    const error = await failure(revio.listPackages(broken.creds));
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toMatch(/without a package_id in GET \/Packages/);
  });

  it('follows has_more across pages of 500', async () => {
    const { value } = await revio.findServices(sim.creds, { customerId: BULK_CUSTOMER });
    expect(value).toHaveLength(1203);
    expect(new Set(value.map((s) => s.serviceId)).size).toBe(1203);
    const pages = (await requests('/v1/Services')).map((r) => r.query);
    expect(pages.map((q) => [q['search.page'], q['search.page_size']])).toEqual([
      ['1', '500'],
      ['2', '500'],
      ['3', '500'],
    ]);
  });

  it('acquires and releases the gate once per request, keyed by the credentials id', async () => {
    await revio.findServices(sim.creds, { customerId: BULK_CUSTOMER });
    await failure(revio.createService(sim.creds, { customerId: 999500, number: 'x' }));
    await revio.listProviders({ ...sim.creds, id: 'cred-2', rateLimit: { requests: 7, windowMs: 1_000 } });

    expect(gate.acquired).toHaveLength((await requests()).length);
    expect(gate.acquired).toHaveLength(5);
    expect(gate.released).toBe(5);
    expect(gate.acquired[0]).toEqual({ key: 'revio:cred-1', requests: 500, windowMs: 60_000 });
    expect(gate.acquired[4]).toEqual({ key: 'revio:cred-2', requests: 7, windowMs: 1_000 });
  });
});

describe('revio client failures', () => {
  it('400 from Rev.io is permanent and carries the remote message', async () => {
    const error = await failure(revio.createService(sim.creds, { customerId: 999400, number: '1' }));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ status: 400, remoteCode: 'Bad Request' });
    expect((error as Error).message).toContain('Customer 999400 is closed');

    const missing = await failure(revio.createService(sim.creds, { customerId: 999404, number: '1' }));
    expect(missing).toBeInstanceOf(PermanentError);
    expect((missing as Error).message).toContain('customer_id 999404 does not exist');
    expect(revioSimState(sim.app).services).toHaveLength(bulkServices.length);
  });

  it('401 is permanent and the exchange holds no secret', async () => {
    const creds = { ...sim.creds, password: 'wrong-Pa55word' };
    const error = await failure(revio.createService(creds, { customerId: 1, number: '1' }));
    expect(error).toBeInstanceOf(PermanentError);
    const { status, exchange } = error as PermanentError;
    expect(status).toBe(401);
    expect(exchange?.requestHeaders.authorization).toBe('[REDACTED]');
    expect(exchange?.requestHeaders['ocp-apim-subscription-key']).toBe('[REDACTED]');
    const recorded = JSON.stringify(exchange);
    expect(recorded).not.toContain('wrong-Pa55word');
    expect(recorded).not.toContain(Buffer.from('simbind@demo:wrong-Pa55word').toString('base64'));
    expect(recorded).not.toContain('demo-subscription-key');
  });

  it('429 for a 0429 number is retryable after Retry-After, then the create succeeds', async () => {
    const input = { customerId: 45, number: '5550000429' };
    const error = await failure(revio.createService(sim.creds, input));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ status: 429, retryAfterMs: 1000 });
    expect((error as Error).message).toContain('Rate limit is exceeded');

    await revio.createService(sim.creds, input);
    expect((await revio.findServices(sim.creds, input)).value).toHaveLength(1);
  });

  it('500 and a non-JSON 502 are retryable', async () => {
    const serverError = await failure(revio.createService(sim.creds, { customerId: 999500, number: '1' }));
    expect(serverError).toBeInstanceOf(RetryableError);
    expect(serverError).toMatchObject({ status: 500 });

    const badGateway = await failure(revio.createService(sim.creds, { customerId: 999502, number: '2' }));
    expect(badGateway).toBeInstanceOf(RetryableError);
    expect(badGateway).toMatchObject({ status: 502 });
    expect((badGateway as Error).message).toContain('502 Bad Gateway: upstream connect error');
  });

  it('a hung request times out as retryable', async () => {
    const impatient = createRevioClient({ gate, timeoutMs: 150 });
    await faults({ method: 'GET', path: '/v1/Products', hang: true, count: 1 });
    const error = await failure(impatient.listProducts(sim.creds));
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).toContain('timed out after 150 ms');
    expect(gate.released).toBe(1);
  });

  it('a create committed before the connection dropped is retryable and findable once', async () => {
    await faults({ method: 'POST', path: '/v1/Services', commitThenDrop: true, count: 1 });
    const input = { customerId: 47, number: '5559990001' };
    const error = await failure(revio.createService(sim.creds, input));
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).status).toBeUndefined();

    const { value } = await revio.findServices(sim.creds, input);
    expect(value).toHaveLength(1);
    expect(value[0]).toMatchObject(input);
    const state = (await sim.control('GET', '/__sim/state')) as { services: { number: string }[] };
    expect(state.services.filter((s) => s.number === input.number)).toHaveLength(1);
  });

  it('a 201 without an id is permanent', async () => {
    await faults({ method: 'POST', path: '/v1/Services', status: 201, count: 1 });
    const error = await failure(revio.createService(sim.creds, { customerId: 48, number: '1' }));
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as Error).message).toContain('no id in answer');
  });
});

describe('revio simulator limits', () => {
  const other = { username: 'other', clientCode: 'acme', password: 'p', subscriptionKey: 'k' };

  it('throttles per account past the rolling window, with Retry-After', async () => {
    const limited = await startSim({
      accounts: [DEMO_REVIO_ACCOUNT, other],
      rateLimit: { requestsPerWindow: 5, windowMs: 1_000 },
    });
    for (let i = 0; i < 5; i++) await revio.listProviders(limited.creds);
    const error = await failure(revio.listProviders(limited.creds));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ status: 429, retryAfterMs: 1000 });
    // Another account on the same simulator has its own budget.
    await revio.listProviders({ ...limited.creds, id: 'cred-2', ...other });

    await new Promise((resolve) => setTimeout(resolve, (error as RetryableError).retryAfterMs));
    await expect(revio.listProviders(limited.creds)).resolves.toBeDefined();
  });

  it('answers 403 once the daily quota is spent', async () => {
    const limited = await startSim({ dailyQuota: 2 });
    await revio.listProviders(limited.creds);
    await revio.listProducts(limited.creds);
    const error = await failure(revio.listServiceTypes(limited.creds));
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ status: 403 });
  });
});

describe('revio simulator contract', () => {
  const auth = {
    authorization: `Basic ${Buffer.from('simbind@demo:demo-password').toString('base64')}`,
    'ocp-apim-subscription-key': 'demo-subscription-key',
  };
  const post = (url: string, payload: object) =>
    sim.app.inject({ method: 'POST', url, headers: auth, payload });

  it('accepts yyyy-MM-dd, yyyy-MM-ddZ and ISO dates, refuses service_id and long numbers', async () => {
    const ok = await post('/v1/Services', { customer_id: 1, number: 'n1', effective_date: '2024-05-01Z' });
    expect(ok.statusCode).toBe(201);
    expect(ok.headers.location).toBe(`/v1/Services/${ok.json<{ id: number }>().id}`);
    const iso = await post('/v1/Services', {
      customer_id: 1,
      number: 'n2',
      activated_date: '2024-05-01T10:00:00Z',
    });
    expect(iso.statusCode).toBe(201);
    expect(
      (await post('/v1/Services', { customer_id: 1, number: 'n3', effective_date: '2024-02-30' })).statusCode,
    ).toBe(400);
    expect((await post('/v1/Services', { customer_id: 1, number: 'n4', service_id: 5 })).statusCode).toBe(
      400,
    );
    const long = await post('/v1/Services', { customer_id: 1, number: 'x'.repeat(256) });
    expect(long.statusCode).toBe(400);
    expect(long.json()).toEqual([
      { ok: false, error: 'Bad Request', message: 'number must be at most 255 characters.' },
    ]);
  });

  it('refuses page sizes outside 1–500 and unknown routes in the error shape', async () => {
    const get = (url: string) => sim.app.inject({ method: 'GET', url, headers: auth });
    expect((await get('/v1/Services?search.page_size=501')).statusCode).toBe(400);
    expect((await get('/v1/Services?search.page_size=0')).statusCode).toBe(400);
    const missing = await get('/v1/Nope');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject([{ ok: false, error: 'Not Found' }]);
  });
});
