import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revioSimState } from '../../simulators/revio.simulator.ts';
import type { RecordedRequest } from '../../simulators/sim-control.ts';
import { loadConfig } from '../../src/config.ts';
import { buildMetricsApp } from '../../src/http/metrics-app.ts';
import { createServices } from '../../src/wiring.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { authHeaders } from '../helpers/auth.ts';
import { freeDevices, iccidsWhere, loadFleet, type Fleet } from '../helpers/fleet.ts';
import { parsePrometheus, valueOf, type Sample } from '../helpers/prometheus.ts';
import { createWorld, waitForFinish, type World } from '../helpers/world.ts';

/**
 * `/metrics` after a real assignment (Rev.io path, through the simulator over loopback, by the
 * pg-boss worker): it parses as Prometheus text, and its figures agree with the database, with
 * what the simulator received, and with the worker's log lines.
 */

let world: World;
let fleet: Fleet;
let admin: { authorization: string };
const logLines: string[] = [];

beforeAll(async () => {
  // No worker yet: the first scrape sees the bulk change queued, the second one done.
  world = await createWorld({ devices: 1000, worker: false, logLines });
  fleet = await loadFleet(world.database.pool);
  admin = await authHeaders(world.database.db, 'admin@northwind.example');
}, 120_000);
afterAll(async () => {
  await world?.close();
});

async function scrape(): Promise<Sample[]> {
  const res = await world.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toContain('text/plain');
  return parsePrometheus(res.body);
}

const q = async <T>(text: string, values: unknown[] = []) =>
  (await world.database.pool.query(text, values)).rows as T[];

async function statusCounts(table: 'bulk_change' | 'bulk_change_device'): Promise<Map<string, number>> {
  const rows = await q<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM ${table} GROUP BY status`,
  );
  return new Map(rows.map((r) => [r.status, r.n]));
}

const WORK_ORDER_STATUSES = ['PENDING', 'PROCESSING', 'WAITING_CARRIER', 'PROCESSED', 'ERROR', 'CANCELLED'];
const BULK_CHANGE_STATUSES = [
  'NEW',
  'PROCESSING',
  'PROCESSED',
  'PROCESSED_WITH_ERRORS',
  'ERROR',
  'CANCELLED',
];

async function expectStatusGaugesMatchTheDatabase(samples: Sample[]): Promise<void> {
  const workOrders = await statusCounts('bulk_change_device');
  for (const status of WORK_ORDER_STATUSES) {
    expect(valueOf(samples, 'simbind_work_orders', { status }), status).toBe(workOrders.get(status) ?? 0);
  }
  const bulkChanges = await statusCounts('bulk_change');
  for (const status of BULK_CHANGE_STATUSES) {
    expect(valueOf(samples, 'simbind_bulk_changes', { status }), status).toBe(bulkChanges.get(status) ?? 0);
  }
}

async function fault(rule: Record<string, unknown>): Promise<void> {
  const res = await world.sims.revio.inject({ method: 'POST', url: '/__sim/faults', payload: rule });
  expect(res.statusCode).toBeLessThan(300);
}

const jsonLines = () =>
  logLines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

let bulkChangeId: number;

describe('/metrics against the database after a real assignment', () => {
  it('counts a queued bulk change: work orders and jobs waiting, as the database says', async () => {
    const devices = await freeDevices(world.database.pool, fleet.thingspace, 150);
    const inactive = await iccidsWhere(
      world.database.pool,
      "d.service_provider_id = $1 AND d.status <> 'active' AND NOT d.is_archived",
      [fleet.thingspace],
      5,
    );
    const res = await postAssignment(world.app, admin, {
      serviceProviderId: fleet.thingspace,
      customerId: fleet.revCustomer.id,
      devices: [...devices, ...inactive],
      createRevService: true,
      revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 2 }] },
    });
    expect(res.statusCode, res.body).toBe(202);
    bulkChangeId = res.json<{ id: number }>().id;

    const samples = await scrape();
    await expectStatusGaugesMatchTheDatabase(samples);
    expect(valueOf(samples, 'simbind_work_orders', { status: 'PENDING' })).toBe(150);
    const [jobs] = await q<{ n: number }>(
      `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'bulk-change.process-chunk' AND state = 'created'`,
    );
    expect(jobs!.n).toBe(2); // CHUNK_SIZE 100
    const queue = { queue: 'bulk-change.process-chunk' };
    expect(valueOf(samples, 'simbind_queue_jobs', { ...queue, state: 'waiting' })).toBe(jobs!.n);
    expect(valueOf(samples, 'simbind_queue_jobs', { ...queue, state: 'active' })).toBe(0);
    expect(valueOf(samples, 'simbind_queue_oldest_waiting_seconds', queue)).toBeGreaterThan(0);
    expect(valueOf(samples, 'simbind_queue_jobs', { queue: 'notification.deliver', state: 'waiting' })).toBe(
      0,
    );
    expect(valueOf(samples, 'simbind_scrape_database_ok')).toBe(1);
    expect(valueOf(samples, 'simbind_devices_processed_total')).toBeUndefined();
  });

  it('agrees with the database, the simulator and the log once the worker has processed it', async () => {
    // Two 429s on service creates (waited out), and one product create refused for good.
    await fault({ method: 'POST', path: '/v1/Services', status: 429, retryAfterSeconds: 1, count: 2 });
    await fault({ method: 'POST', path: '/v1/ServiceProduct', status: 400, count: 1 });
    await world.startWorker();
    expect(await waitForFinish(world, bulkChangeId)).toBe('PROCESSED_WITH_ERRORS');

    const samples = await scrape();
    await expectStatusGaugesMatchTheDatabase(samples);

    const [orders] = await q<{ processed: number; integration: number; ineligible: number }>(
      `SELECT count(*) FILTER (WHERE status = 'PROCESSED')::int AS processed,
              count(*) FILTER (WHERE error_category = 'integration')::int AS integration,
              count(*) FILTER (WHERE error_category = 'eligibility')::int AS ineligible
       FROM bulk_change_device WHERE bulk_change_id = $1`,
      [bulkChangeId],
    );
    expect(orders).toEqual({ processed: 149, integration: 1, ineligible: 5 });
    const devices = (labels: Record<string, string>) =>
      valueOf(samples, 'simbind_devices_processed_total', labels);
    expect(devices({ step: 'complete', outcome: 'ok' })).toBe(orders!.processed);
    expect(devices({ step: 'ownership', outcome: 'ok' })).toBe(orders!.processed);
    expect(devices({ step: 'rev_service', outcome: 'ok' })).toBe(orders!.processed);
    expect(devices({ step: 'rev_service', outcome: 'failed' })).toBe(orders!.integration);

    // Rev.io: what the simulator created and received, call for call.
    const created = revioSimState(world.sims.revio).services.length;
    expect(created).toBe(150);
    const calls = (labels: Record<string, string>) =>
      valueOf(samples, 'simbind_external_calls_total', { system: 'revio', ...labels });
    expect(calls({ operation: 'POST /Services', outcome: 'ok' })).toBe(created);
    const received = (await world.sims.revio.inject({ method: 'GET', url: '/__sim/requests' })).json<
      RecordedRequest[]
    >();
    expect(calls({})).toBe(received.length);
    // The two injected, and one more per MSISDN ending 0429 (the simulator throttles those once).
    const throttled = received.filter((r) => r.status === 429).length;
    expect(throttled).toBeGreaterThanOrEqual(2);
    expect(calls({ operation: 'POST /Services', outcome: 'throttled' })).toBe(throttled);
    expect(valueOf(samples, 'simbind_external_throttled_total', { system: 'revio' })).toBe(throttled);
    expect(calls({ operation: 'POST /ServiceProduct', outcome: 'client_error' })).toBe(1);
    expect(
      valueOf(samples, 'simbind_external_call_duration_seconds_count', {
        system: 'revio',
        operation: 'POST /Services',
      }),
    ).toBe(created + throttled);
    // Every call waited at the shared gate first.
    expect(valueOf(samples, 'simbind_rate_gate_wait_seconds_count', { system: 'revio' })).toBe(
      received.length,
    );
    // Operations are patterns: no ICCID, MSISDN or id in any label.
    for (const s of samples.filter((x) => x.name === 'simbind_external_calls_total')) {
      expect(s.labels.operation).not.toMatch(/\d{5,}/);
    }

    const queue = { queue: 'bulk-change.process-chunk' };
    expect(valueOf(samples, 'simbind_queue_jobs', { ...queue, state: 'waiting' })).toBe(0);
    expect(valueOf(samples, 'simbind_queue_oldest_waiting_seconds', queue)).toBe(0);
    expect(valueOf(samples, 'simbind_thingspace_waiting_requests')).toBe(0);
    // prom-client's process metrics come along.
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(valueOf(samples, 'nodejs_eventloop_lag_seconds')).toBeDefined();

    // The log: one line per finished chunk with its figures, one per failed work order.
    const lines = jsonLines();
    const chunks = lines.filter((l) => l.msg === 'chunk finished' && l.bulkChangeId === bulkChangeId);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    for (const line of chunks) {
      expect(line.level).toBe(30);
      expect(typeof line.jobId).toBe('string');
      for (const field of ['chunk', 'devices', 'ok', 'failed', 'waiting', 'ms']) {
        expect(typeof line[field], field).toBe('number');
      }
    }
    const sum = (field: string) => chunks.reduce((n, l) => n + (l[field] as number), 0);
    expect(sum('devices')).toBe(150);
    expect(sum('ok')).toBe(orders!.processed);
    expect(sum('failed')).toBe(orders!.integration);
    const [failedOrder] = await q<{ id: number; chunk: number }>(
      `SELECT id, chunk FROM bulk_change_device WHERE bulk_change_id = $1 AND error_category = 'integration'`,
      [bulkChangeId],
    );
    const failedLine = lines.find((l) => l.msg === 'work order failed');
    expect(failedLine).toMatchObject({
      bulkChangeId,
      chunk: failedOrder!.chunk,
      workOrderId: failedOrder!.id,
      step: 'rev_service',
      errorCategory: 'integration',
    });
    const text = logLines.join('\n');
    for (const secret of ['demo-password', 'demo-subscription-key', 'demo-app-secret']) {
      expect(text).not.toContain(secret);
    }
  }, 120_000);

  it('names HTTP requests by route pattern and status class, never by their ids', async () => {
    const get = await world.app.inject({
      method: 'GET',
      url: `/api/v1/bulk-changes/${bulkChangeId}`,
      headers: admin,
    });
    expect(get.statusCode).toBe(200);
    const missing = await world.app.inject({ method: 'GET', url: `/api/v1/nothing-here/${bulkChangeId}` });
    expect(missing.statusCode).toBe(404);

    const samples = await scrape();
    const count = (labels: Record<string, string>) =>
      valueOf(samples, 'simbind_http_request_duration_seconds_count', labels);
    expect(
      count({ method: 'GET', route: '/api/v1/bulk-changes/:id', status_class: '2xx' }),
    ).toBeGreaterThanOrEqual(1);
    expect(count({ method: 'POST', route: '/api/v1/bulk-changes', status_class: '2xx' })).toBe(1);
    expect(count({ method: 'GET', route: 'unmatched', status_class: '4xx' })).toBeGreaterThanOrEqual(1);
    const routes = samples
      .filter((s) => s.name.startsWith('simbind_http_request_duration_seconds'))
      .map((s) => s.labels.route ?? '');
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) expect(route.split('/')).not.toContain(String(bulkChangeId));
  });
});

describe('request ids', () => {
  it('are on every request log line and echoed as X-Request-Id', async () => {
    logLines.length = 0;
    const given = await world.app.inject({
      method: 'GET',
      url: '/api/v1/service-providers',
      headers: { ...admin, 'x-request-id': 'edge-7f3a-0001' },
    });
    expect(given.headers['x-request-id']).toBe('edge-7f3a-0001');
    const fresh = await world.app.inject({ method: 'GET', url: '/healthz' });
    const freshId = fresh.headers['x-request-id'] as string;
    expect(freshId).toMatch(/^[0-9a-f-]{36}$/);
    // An id that is not a plain token is not taken over (it would land in every log line).
    const odd = await world.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'two words"}' },
    });
    expect(odd.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    const requestLines = jsonLines().filter((l) => l.msg === 'request completed');
    expect(requestLines).toHaveLength(3);
    for (const line of requestLines) expect(typeof line.reqId).toBe('string');
    expect(requestLines.map((l) => l.reqId)).toEqual([
      'edge-7f3a-0001',
      freshId,
      odd.headers['x-request-id'],
    ]);
  });
});

describe("a worker's metrics port", () => {
  it('serves this process’s counters and the probes, nothing else', async () => {
    const app = await buildMetricsApp({ services: world.services, logLevel: 'silent' });
    try {
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      const samples = parsePrometheus(res.body);
      expect(valueOf(samples, 'simbind_devices_processed_total', { step: 'complete' })).toBe(149);
      expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      const api = await app.inject({ method: 'GET', url: '/api/v1/bulk-changes', headers: admin });
      expect(api.statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('keeps the METRICS_TOKEN rule', async () => {
    const token = 'worker-scrape-token-0123456789';
    const services = createServices({
      config: loadConfig({ LOG_LEVEL: 'silent', HOST: '0.0.0.0', METRICS_TOKEN: token }),
      database: world.database,
      queue: world.queue,
    });
    const app = await buildMetricsApp({ services, logLevel: 'silent' });
    try {
      const refused = await app.inject({ method: 'GET', url: '/metrics' });
      expect(refused.statusCode).toBe(401);
      expect(refused.body).not.toContain('simbind_');
      const res = await app.inject({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.statusCode).toBe(200);
      expect(parsePrometheus(res.body).length).toBeGreaterThan(10);
    } finally {
      await app.close();
    }
  });
});
