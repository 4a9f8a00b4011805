import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CallObservation } from './clients/http-client.ts';

/**
 * The process's Prometheus registry and every simbind series (README, "Metrics"). One per process,
 * made in wiring.ts: counters and histograms count what THIS process did, so Prometheus scrapes
 * every process (api and each worker) and sums them; the gauges read from the database at scrape
 * time are the same in every process (aggregate them with `max`, not `sum`).
 *
 * Labels are low-cardinality by construction: statuses, steps, systems, operation names, queue
 * names, route patterns. Never a device, work order, tenant or credential.
 */

export interface StatusCount {
  status: string;
  count: number;
}

export interface QueueFigures {
  queue: string;
  /** Ready to run now (`created`/`retry` whose start time has come). */
  waiting: number;
  /** Waiting for a later start (a retry's backoff, a scheduled poll). */
  deferred: number;
  active: number;
  /** Seconds since the oldest ready job could have started; 0 when none waits. */
  oldestWaitingSeconds: number;
}

/** What `/metrics` reads from PostgreSQL at scrape time (set-based queries, metrics.repository.ts). */
export interface DatabaseFigures {
  bulkChanges: StatusCount[];
  workOrders: StatusCount[];
  queues: QueueFigures[];
  thingspaceWaiting: number;
  pool: { total: number; idle: number; waiting: number };
}

export type DeviceStepOutcome = 'ok' | 'failed' | 'waiting';

export interface Metrics {
  readonly registry: Registry;
  /** One external call, as http-client.ts saw it. */
  externalCall: (call: CallObservation) => void;
  /** How long a call waited at the shared rate gate for its account's slot. */
  gateWait: (system: string, seconds: number) => void;
  /** `count` devices of one group of a chunk went through `step` with this outcome. */
  devicesProcessed: (step: string, outcome: DeviceStepOutcome, count: number) => void;
  httpRequest: (request: { method: string; route: string; statusCode: number; seconds: number }) => void;
  /** The scrape-time gauges; `undefined` when the database could not be read (they are then dropped). */
  setDatabaseFigures: (figures: DatabaseFigures | undefined) => void;
  /** The Prometheus text exposition of everything in the registry. */
  render: () => Promise<string>;
  readonly contentType: string;
}

/** Every status is exported, 0 included, so a series does not vanish when its last row moves on. */
export const BULK_CHANGE_STATUSES = [
  'NEW',
  'PROCESSING',
  'PROCESSED',
  'PROCESSED_WITH_ERRORS',
  'ERROR',
  'CANCELLED',
] as const;
export const WORK_ORDER_STATUSES = [
  'PENDING',
  'PROCESSING',
  'WAITING_CARRIER',
  'PROCESSED',
  'ERROR',
  'CANCELLED',
] as const;

// Rev.io answers in tens of ms, ThingSpace and Jasper in hundreds; a timeout is HTTP_TIMEOUT_MS (15 s).
const CALL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
// A free slot is taken in about a millisecond (one statement); a full Rev.io window waits up to 60 s.
const GATE_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const bulkChanges = new Gauge({
    name: 'simbind_bulk_changes',
    help: 'Bulk changes by status (read from the database at scrape time).',
    labelNames: ['status'],
    registers,
  });
  const workOrders = new Gauge({
    name: 'simbind_work_orders',
    help: 'Work orders (one per device of a bulk change) by status (read from the database at scrape time).',
    labelNames: ['status'],
    registers,
  });
  const queueJobs = new Gauge({
    name: 'simbind_queue_jobs',
    help: 'Jobs of each queue: waiting (ready to run), deferred (start later), active (read at scrape time).',
    labelNames: ['queue', 'state'],
    registers,
  });
  const queueOldest = new Gauge({
    name: 'simbind_queue_oldest_waiting_seconds',
    help: 'How long the oldest ready job of each queue has been waiting for a worker (0: none waits).',
    labelNames: ['queue'],
    registers,
  });
  const thingspaceWaiting = new Gauge({
    name: 'simbind_thingspace_waiting_requests',
    help: 'Work orders waiting for ThingSpace to confirm a plan change (callback or poll), at scrape time.',
    registers,
  });
  const pool = new Gauge({
    name: 'simbind_db_pool_connections',
    help: "This process's database pool connections.",
    labelNames: ['state'],
    registers,
  });
  const databaseUp = new Gauge({
    name: 'simbind_scrape_database_ok',
    help: '1 when this scrape read its figures from the database, 0 when it could not (they are left out).',
    registers,
  });
  const devices = new Counter({
    name: 'simbind_devices_processed_total',
    help: 'Devices that went through a processing step (rev_service, ownership, customer_rate_plan, carrier_rate_plan; complete: the work order ended PROCESSED), by outcome.',
    labelNames: ['step', 'outcome'],
    registers,
  });
  const calls = new Counter({
    name: 'simbind_external_calls_total',
    help: 'Calls to external systems (revio, thingspace, jasper, webhook) by operation and outcome.',
    labelNames: ['system', 'operation', 'outcome'],
    registers,
  });
  const callSeconds = new Histogram({
    name: 'simbind_external_call_duration_seconds',
    help: 'Latency of calls to external systems, from sending the request to reading the whole answer.',
    labelNames: ['system', 'operation'],
    buckets: CALL_BUCKETS,
    registers,
  });
  const throttled = new Counter({
    name: 'simbind_external_throttled_total',
    help: 'Answers 429 (Too Many Requests) from external systems.',
    labelNames: ['system'],
    registers,
  });
  const gateSeconds = new Histogram({
    name: 'simbind_rate_gate_wait_seconds',
    help: "Time a call waited for its account's slot at the shared rate gate (all processes share each account's limit).",
    labelNames: ['system'],
    buckets: GATE_BUCKETS,
    registers,
  });
  const httpSeconds = new Histogram({
    name: 'simbind_http_request_duration_seconds',
    help: 'HTTP requests served, by method, route pattern and status class.',
    labelNames: ['method', 'route', 'status_class'],
    buckets: HTTP_BUCKETS,
    registers,
  });

  return {
    registry,
    contentType: registry.contentType,

    externalCall(call) {
      calls.inc({ system: call.system, operation: call.operation, outcome: call.outcome });
      callSeconds.observe({ system: call.system, operation: call.operation }, call.seconds);
      if (call.status === 429) throttled.inc({ system: call.system });
    },

    gateWait(system, seconds) {
      gateSeconds.observe({ system }, seconds);
    },

    devicesProcessed(step, outcome, count) {
      if (count > 0) devices.inc({ step, outcome }, count);
    },

    httpRequest({ method, route, statusCode, seconds }) {
      httpSeconds.observe(
        {
          method: HTTP_METHODS.has(method) ? method : 'other',
          route,
          status_class: `${Math.floor(statusCode / 100)}xx`,
        },
        seconds,
      );
    },

    setDatabaseFigures(figures) {
      // Reset first: a queue or status that is gone must not keep its last value.
      for (const gauge of [bulkChanges, workOrders, queueJobs, queueOldest, thingspaceWaiting, pool]) {
        gauge.reset();
      }
      databaseUp.set(figures ? 1 : 0);
      if (!figures) return;
      setByStatus(bulkChanges, BULK_CHANGE_STATUSES, figures.bulkChanges);
      setByStatus(workOrders, WORK_ORDER_STATUSES, figures.workOrders);
      for (const q of figures.queues) {
        queueJobs.set({ queue: q.queue, state: 'waiting' }, q.waiting);
        queueJobs.set({ queue: q.queue, state: 'deferred' }, q.deferred);
        queueJobs.set({ queue: q.queue, state: 'active' }, q.active);
        queueOldest.set({ queue: q.queue }, q.oldestWaitingSeconds);
      }
      thingspaceWaiting.set(figures.thingspaceWaiting);
      pool.set({ state: 'total' }, figures.pool.total);
      pool.set({ state: 'idle' }, figures.pool.idle);
      pool.set({ state: 'waiting' }, figures.pool.waiting);
    },

    render: () => registry.metrics(),
  };
}

function setByStatus(gauge: Gauge, known: readonly string[], counts: StatusCount[]): void {
  for (const status of known) gauge.set({ status }, 0);
  for (const row of counts) gauge.set({ status: row.status }, row.count);
}
