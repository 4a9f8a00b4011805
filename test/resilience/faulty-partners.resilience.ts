import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildJasperSimulator, type JasperSimState } from '../../simulators/jasper.simulator.ts';
import { buildRevioSimulator, revioSimState } from '../../simulators/revio.simulator.ts';
import type { FaultRule, RecordedRequest } from '../../simulators/sim-control.ts';
import { buildThingSpaceSimulator } from '../../simulators/thingspace.simulator.ts';
import { loadConfig } from '../../src/config.ts';
import { DEMO_THINGSPACE_ACCOUNT, demoPlansOf } from '../../src/db/repositories/seed.repository.ts';
import { buildApp, type TypedApp } from '../../src/http/app.ts';
import { startQueue, type JobQueue } from '../../src/jobs/queue.ts';
import { startWorker } from '../../src/jobs/worker.ts';
import { luhnCheckDigit } from '../../src/services/identifiers.ts';
import { seedDemoData } from '../../src/services/seed.service.ts';
import { createServices } from '../../src/wiring.ts';
import { postAssignment } from '../helpers/assignments.ts';
import { authHeaders } from '../helpers/auth.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { freeDevices, loadFleet, type Fleet } from '../helpers/fleet.ts';
import { freePort } from '../helpers/ports.ts';

/**
 * A bad day at every partner at once: Rev.io, Jasper and ThingSpace answer 10 % of calls 500, never
 * answer 5 % (a timeout, nothing done), answer 5 % of reads too late (a timeout, done), commit then
 * drop 5 % of creates and changes (done, answer lost), and throttle in bursts with Retry-After;
 * ThingSpace's callbacks cross a network that loses, duplicates and reorders them. Every device
 * must still end PROCESSED, with no duplicate anywhere and counts that agree; permanent refusals
 * (a closed Rev.io customer, an ICCID Jasper does not know) end only their own devices in ERROR;
 * and a Rev.io create that completes just after our timeout must not bill a device twice.
 *
 * Our own world (not `createWorld`): a 1 s HTTP timeout so timeouts cost little, MAX_ATTEMPTS 12
 * (the product default is 5: at ~20 % faults per call, two calls per attempt after a lost answer,
 * 5 attempts would fail some devices by arithmetic, not by a bug), and PUBLIC_URL pointing at the
 * lossy relay, so ThingSpace calls us back through it.
 */

const HTTP_TIMEOUT_MS = 1000;
const MAX_ATTEMPTS = 12;
const PER_CHANGE = 300;
const JASPER_PLAN = { ratePlan: 'IOT-1GB', communicationPlan: 'CP-Standard-Data' };
const THINGSPACE_PLAN = 'M2M-5GB-SHR';
/** ICCIDs the simulators treat as scenarios (…0404 unknown, …0500 always failing, …0429 throttled). */
const MAGIC = /0(404|429|500)$/;

type System = 'revio' | 'jasper' | 'thingspace';
const PREFIX: Record<System, string> = { revio: '/v1/', jasper: '/rws/', thingspace: '/api/' };
const CHANGING: Record<System, { method: string; path: string }[]> = {
  revio: [
    { method: 'POST', path: '/v1/Services' },
    { method: 'POST', path: '/v1/ServiceProduct' },
  ],
  jasper: [{ method: 'PUT', path: '/rws/api/v1/devices/' }],
  thingspace: [{ method: 'PUT', path: '/api/m2m/v1/devices/actions/plan' }],
};
type Labelled = FaultRule & { label: string };
const burst = (system: System): Labelled => ({
  label: '429 burst',
  path: PREFIX[system],
  status: 429,
  retryAfterSeconds: 1,
  count: 8,
});
/** The bad day of one partner; order matters (the first rule that answers wins). */
const faultsOf = (system: System): Labelled[] => [
  burst(system),
  { label: '500', path: PREFIX[system], status: 500, rate: 0.1 },
  { label: 'no answer', path: PREFIX[system], hang: true, rate: 0.05 },
  { label: 'late read', method: 'GET', path: PREFIX[system], latencyMs: HTTP_TIMEOUT_MS + 500, rate: 0.05 },
  ...CHANGING[system].map((c) => ({ label: 'commit-then-drop', ...c, commitThenDrop: true, rate: 0.05 })),
];

interface Relayed {
  /** Our callback URL's path, with the account's token, as ThingSpace called it. */
  url: string;
  requestId: string;
  fate: 'delivered' | 'lost' | 'duplicated' | 'delayed';
  applied: number[];
  statuses: number[];
  /** What simbind answered each copy that was not a 200: the first thing to read if one fails. */
  refusals: string[];
}

/** The network between ThingSpace and us: of every 6 callbacks, one lost, one duplicated, one late. */
async function startLossyRelay(target: () => string) {
  const relayed: Relayed[] = [];
  const inFlight = new Set<Promise<void>>();
  const app = Fastify();
  const forward = async (url: string, body: unknown, entry: Relayed) => {
    const res = await fetch(`${target()}${url}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    entry.statuses.push(res.status);
    const text = await res.text();
    if (res.status !== 200) entry.refusals.push(`${res.status} ${text.slice(0, 300)}`);
    let applied = -1;
    try {
      applied = (JSON.parse(text) as { applied?: number }).applied ?? -1;
    } catch {
      // not JSON: the refusal above says what it was
    }
    entry.applied.push(applied);
  };
  const later = (ms: number, task: () => Promise<void>) => {
    const done = new Promise<void>((resolve) => setTimeout(resolve, ms)).then(task).catch(() => undefined);
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  };
  app.post('/api/v1/carrier-callbacks/thingspace/:token', async (request) => {
    const n = relayed.length;
    const fates = ['delivered', 'lost', 'delivered', 'duplicated', 'delivered', 'delayed'] as const;
    const entry: Relayed = {
      url: request.url,
      requestId: (request.body as { requestId: string }).requestId,
      fate: fates[n % 6]!,
      applied: [],
      statuses: [],
      refusals: [],
    };
    relayed.push(entry);
    if (entry.fate === 'delivered' || entry.fate === 'duplicated')
      later(0, () => forward(request.url, request.body, entry));
    if (entry.fate === 'duplicated') later(300, () => forward(request.url, request.body, entry));
    // Overtaken by the callbacks of the next second: out of order.
    if (entry.fate === 'delayed') later(800, () => forward(request.url, request.body, entry));
    return { ok: true };
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    url,
    relayed,
    async settle() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    close: () => app.close(),
  };
}

let database: TestDatabase;
let app: TypedApp;
let queue: JobQueue;
let sims: Record<System, FastifyInstance>;
let relay: Awaited<ReturnType<typeof startLossyRelay>>;
let fleet: Fleet;
let admin: { authorization: string };

beforeAll(async () => {
  database = await createTestDatabase(20);
  await seedDemoData(database.db, { devices: 10_000 });
  sims = {
    revio: buildRevioSimulator({ rateLimit: { requestsPerWindow: 1_000_000, windowMs: 1000 } }),
    thingspace: buildThingSpaceSimulator({
      appKey: 'demo-app-key',
      appSecret: 'demo-app-secret',
      users: [{ username: 'simbind', password: 'demo-password' }],
      autoCreateAccount: DEMO_THINGSPACE_ACCOUNT,
      knownPlans: demoPlansOf('thingspace').ratePlans,
      asyncDelayMs: 100,
    }),
    jasper: buildJasperSimulator({ ...demoPlansOf('jasper'), limits: { requests: 100, windowMs: 1000 } }),
  };
  const simUrls: Record<string, string> = {
    revio: `${await sims.revio.listen({ port: 0, host: '127.0.0.1' })}/v1`,
    thingspace: `${await sims.thingspace.listen({ port: 0, host: '127.0.0.1' })}/api`,
    jasper: `${await sims.jasper.listen({ port: 0, host: '127.0.0.1' })}/rws/api/v1`,
  };
  await database.pool.query(
    `UPDATE integration_credentials SET rate_limit_requests = CASE integration WHEN 'jasper' THEN 90 ELSE 1000 END,
       rate_limit_window_ms = 1000, rate_limit_concurrency = CASE integration WHEN 'jasper' THEN 1 END`,
  );
  const port = await freePort();
  relay = await startLossyRelay(() => `http://127.0.0.1:${port}`);
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    PORT: String(port),
    PUBLIC_URL: relay.url,
    CHUNK_SIZE: '100',
    WORKER_CONCURRENCY: '4',
    MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    HTTP_TIMEOUT_MS: String(HTTP_TIMEOUT_MS),
  });
  queue = await startQueue({
    connectionString: database.url,
    pollSeconds: 1,
    supervise: true,
    maintenanceIntervalSeconds: 1,
  });
  const services = createServices({
    config,
    database,
    queue,
    resolveBaseUrl: (url) => (url.startsWith('simulator://') ? simUrls[url.slice(12)]! : url),
    retryPolicy: { baseDelayMs: 20, maxDelayMs: 200 },
  });
  app = await buildApp({ services, cookieSecret: 'test-cookie-secret-0123456789abcdef', logLevel: 'silent' });
  await app.listen({ port, host: '127.0.0.1' });
  await startWorker(queue, services, config);
  fleet = await loadFleet(database.pool);
  admin = await authHeaders(database.db, 'admin@northwind.example');
  for (const system of Object.keys(sims) as System[]) await addFaults(system, faultsOf(system));
}, 180_000);

afterAll(async () => {
  await queue?.stop();
  await app?.close();
  await relay?.close();
  for (const sim of Object.values(sims ?? {})) {
    // Releases the requests it holds unanswered, and drops the keep-alive connections our client
    // pool still holds (else close() waits for them to time out, about a minute).
    await sim.inject({ method: 'DELETE', url: '/__sim/faults' });
    sim.server.closeAllConnections();
    await sim.close();
  }
  await database?.drop();
});

const q = async <T>(text: string, values: unknown[] = []) =>
  (await database.pool.query(text, values)).rows as T[];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const retired = new Map<System, Labelled[]>([
  ['revio', []],
  ['jasper', []],
  ['thingspace', []],
]);

async function addFaults(system: System, rules: Labelled[]) {
  await sims[system].inject({ method: 'POST', url: '/__sim/faults', payload: rules });
  retired.get(system)!.push(...rules.filter((r) => r.count !== undefined));
}

/** Faults injected so far, by label (count-limited rules retire once used up). */
async function faultsInjected(system: System): Promise<Record<string, number>> {
  const active = (await sims[system].inject({ method: 'GET', url: '/__sim/faults' })).json<
    (Labelled & { used: number })[]
  >();
  const out: Record<string, number> = {};
  for (const rule of active) out[rule.label] = (out[rule.label] ?? 0) + rule.used;
  const activeBursts = active.filter((r) => r.count !== undefined).length;
  const gone = retired.get(system)!.length - activeBursts;
  for (const rule of retired.get(system)!.slice(0, gone))
    out[rule.label] = (out[rule.label] ?? 0) + rule.count!;
  return out;
}

async function requestsOf(system: System): Promise<RecordedRequest[]> {
  return (await sims[system].inject({ method: 'GET', url: '/__sim/requests' })).json<RecordedRequest[]>();
}

async function report(system: System, duplicates: Record<string, number>): Promise<string> {
  const requests = await requestsOf(system);
  const answers: Record<string, number> = {};
  for (const r of requests) {
    const key = r.status === undefined ? 'none' : r.status === 429 ? '429' : `${String(r.status)[0]}xx`;
    answers[key] = (answers[key] ?? 0) + 1;
  }
  return `  ${system.padEnd(10)} ${requests.length} requests; faults injected ${JSON.stringify(await faultsInjected(system))}; answers ${JSON.stringify(answers)}; duplicates ${JSON.stringify(duplicates)}`;
}

async function submit(body: Record<string, unknown>): Promise<number> {
  const res = await postAssignment(app, admin, body);
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ id: number }>().id;
}

async function finish(ids: number[], timeoutMs = 170_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await q<{ id: number; status: string }>(
      'SELECT id, status FROM bulk_change WHERE id = ANY($1)',
      [ids],
    );
    if (rows.every((r) => !['NEW', 'PROCESSING'].includes(r.status))) {
      return ids.map((id) => rows.find((r) => r.id === id)!.status);
    }
    if (Date.now() > deadline) {
      const open = await q(
        `SELECT bulk_change_id, status, count(*)::int AS n FROM bulk_change_device WHERE bulk_change_id = ANY($1) GROUP BY 1, 2`,
        [ids],
      );
      const jobs = await q(
        `SELECT name, state, retry_count, start_after, left(output::text, 400) AS output FROM pgboss.job
         WHERE name IN ('carrier.poll', 'bulk-change.process-chunk') AND (data->>'bulkChangeId')::int = ANY($1)
         ORDER BY created_on`,
        [ids],
      );
      const ts = (await sims.thingspace.inject({ method: 'GET', url: '/__sim/state' })).json<{
        requests: { status: string }[];
        callbacks: unknown[];
        deliveries: { status?: number; error?: string }[];
      }>();
      const summary = {
        requests: Object.fromEntries(countBy(ts.requests, (r) => r.status)),
        callbacks: ts.callbacks,
        deliveries: Object.fromEntries(countBy(ts.deliveries, (d) => String(d.status ?? d.error))),
        relayed: relay.relayed.length,
      };
      throw new Error(
        `not finished after ${timeoutMs} ms: ${JSON.stringify(open)}\n${JSON.stringify(jobs)}\n${JSON.stringify(summary)}`,
      );
    }
    await sleep(250);
  }
}

async function devicesFor(providerId: number, count: number): Promise<string[]> {
  return (await freeDevices(database.pool, providerId, count + 20))
    .filter((i) => !MAGIC.test(i))
    .slice(0, count);
}

/** API counts and SQL counts of one bulk change, which must agree. */
async function countsOf(id: number) {
  const view = await app.inject({ method: 'GET', url: `/api/v1/bulk-changes/${id}`, headers: admin });
  const rows = await q<{ status: string; n: number }>(
    'SELECT status, count(*)::int AS n FROM bulk_change_device WHERE bulk_change_id = $1 GROUP BY 1',
    [id],
  );
  const sql = Object.fromEntries(rows.map((r) => [r.status, r.n]));
  const api = view.json<{ counts: Record<string, number> }>().counts;
  return {
    api,
    sql: {
      total: rows.reduce((sum, r) => sum + r.n, 0),
      pending: sql.PENDING ?? 0,
      processing: sql.PROCESSING ?? 0,
      waiting: sql.WAITING_CARRIER ?? 0,
      processed: sql.PROCESSED ?? 0,
      error: sql.ERROR ?? 0,
      cancelled: sql.CANCELLED ?? 0,
    },
  };
}

/** Change-log entries per step (the "(found after a lost answer)"-style suffix folded). */
async function logsOf(id: number) {
  return q<{ description: string; n: number; devices: number; errors: number }>(
    `SELECT regexp_replace(description, ' \\((found|request|confirmed).*\\)$', '') AS description, count(*)::int AS n,
            count(DISTINCT device_id)::int AS devices, count(*) FILTER (WHERE has_error)::int AS errors
     FROM change_log WHERE bulk_change_id = $1 GROUP BY 1 ORDER BY 1`,
    [id],
  );
}

const countBy = <T>(items: T[], key: (item: T) => string) => {
  const out = new Map<string, number>();
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1);
  return out;
};
const notOnce = (keys: string[], counts: Map<string, number>) => keys.filter((k) => counts.get(k) !== 1);

describe('partners having a bad day', () => {
  it('every device still ends PROCESSED, with no duplicate anywhere and exact counts', async () => {
    const revIccids = await devicesFor(fleet.jasper, PER_CHANGE);
    const tsIccids = await devicesFor(fleet.thingspace, PER_CHANGE);
    const started = Date.now();
    const rev = await submit({
      serviceProviderId: fleet.jasper,
      customerId: fleet.revCustomer.id,
      devices: revIccids,
      createRevService: true,
      revService: {
        serviceTypeId: 3,
        products: [
          { productId: 11, rate: 4.5 },
          { productId: 12, rate: 1.25 },
        ],
      },
      addCarrierRatePlan: true,
      carrierRatePlan: JASPER_PLAN,
    });
    const ts = await submit({
      serviceProviderId: fleet.thingspace,
      customerId: fleet.amopCustomer.id,
      devices: tsIccids,
      addCustomerRatePlan: true,
      customerRatePlan: { ratePlanId: fleet.customerRatePlan },
      addCarrierRatePlan: true,
      carrierRatePlan: { ratePlan: THINGSPACE_PLAN },
    });
    // A second throttling burst half-way through.
    const midway = (async () => {
      while (Date.now() - started < 150_000) {
        const [row] = await q<{ n: number }>(
          `SELECT count(*)::int AS n FROM bulk_change_device WHERE bulk_change_id = ANY($1) AND status = 'PROCESSED'`,
          [[rev, ts]],
        );
        if (row!.n >= PER_CHANGE) {
          for (const system of Object.keys(sims) as System[]) await addFaults(system, [burst(system)]);
          return;
        }
        await sleep(200);
      }
    })();
    expect(await finish([rev, ts])).toEqual(['PROCESSED', 'PROCESSED']);
    const runSeconds = (Date.now() - started) / 1000;
    await midway;
    await relay.settle();

    for (const id of [rev, ts]) {
      const { api, sql } = await countsOf(id);
      expect(api).toEqual(sql);
      expect(sql).toMatchObject({ total: PER_CHANGE, processed: PER_CHANGE });
    }

    // Rev.io: one service per ICCID, each product once per service, and exactly those recorded.
    const revio = revioSimState(sims.revio);
    const servicesPerIccid = countBy(revio.services, (s) => s.number2 ?? '');
    const productsPerPair = countBy(revio.serviceProducts, (p) => `${p.service_id}/${p.product_id}`);
    const productPairs = revio.services.flatMap((s) => [`${s.service_id}/11`, `${s.service_id}/12`]);
    expect(notOnce(revIccids, servicesPerIccid)).toEqual([]);
    expect(revio.services).toHaveLength(PER_CHANGE);
    expect(notOnce(productPairs, productsPerPair)).toEqual([]);
    expect(revio.serviceProducts).toHaveLength(2 * PER_CHANGE);
    const recorded = await q<{ service_id: number; products: number[] }>(
      `SELECT rs.service_id, array_agg(p.service_product_id ORDER BY p.service_product_id) AS products
       FROM rev_service rs JOIN bulk_change_device w ON w.id = rs.bulk_change_device_id
       JOIN rev_service_product p ON p.rev_service_id = rs.id AND p.status = 'created'
       WHERE w.bulk_change_id = $1 AND rs.status = 'created' GROUP BY 1 ORDER BY 1`,
      [rev],
    );
    expect(recorded.map((r) => r.service_id)).toEqual(
      revio.services.map((s) => s.service_id).sort((a, b) => a - b),
    );
    expect(recorded.flatMap((r) => r.products).sort((a, b) => a - b)).toEqual(
      revio.serviceProducts.map((p) => p.service_product_id).sort((a, b) => a - b),
    );

    // Jasper: the plan is applied (an edit answered 200, whether or not the answer arrived) once per device.
    const jasperRequests = await requestsOf('jasper');
    const appliedEdits = countBy(
      jasperRequests.filter((r) => r.method === 'PUT' && r.status === 200),
      (r) => r.path.split('/').pop()!,
    );
    expect(notOnce(revIccids, appliedEdits)).toEqual([]);
    const jasperState = (
      await sims.jasper.inject({ method: 'GET', url: '/__sim/state' })
    ).json<JasperSimState>();
    const jasperPlans = new Map(
      jasperState.devices.map((d) => [d.iccid, `${d.ratePlan}/${d.communicationPlan}`]),
    );
    expect(
      revIccids.filter(
        (i) => jasperPlans.get(i) !== `${JASPER_PLAN.ratePlan}/${JASPER_PLAN.communicationPlan}`,
      ),
    ).toEqual([]);

    // ThingSpace: every device on the new plan; each plan change requested (and counted against the
    // device's 4 a month) once.
    const tsState = (await sims.thingspace.inject({ method: 'GET', url: '/__sim/state' })).json<{
      devices: { iccid: string; servicePlan: string; planChangesThisMonth: number }[];
      requests: { requestId: string; iccids: string[]; status: string }[];
    }>();
    const tsDevices = new Map(tsState.devices.map((d) => [d.iccid, d]));
    expect(tsIccids.filter((i) => tsDevices.get(i)?.servicePlan !== THINGSPACE_PLAN)).toEqual([]);
    const planChanges = countBy(
      tsState.requests.flatMap((r) => r.iccids),
      (iccid) => iccid,
    );
    const repeated = notOnce(tsIccids, planChanges);
    const changedTwice = tsIccids.filter((i) => tsDevices.get(i)?.planChangesThisMonth !== 1);

    // One log entry per step per device (ThingSpace: request sent + confirmed), none in error.
    const entries = (steps: [string, number][]) =>
      steps.map(([description, per]) => ({
        description,
        n: per * PER_CHANGE,
        devices: PER_CHANGE,
        errors: 0,
      }));
    expect(await logsOf(rev)).toEqual(
      entries([
        ['Carrier Rate Plan: Carrier API', 1],
        ['Create Rev.io Service Product: Rev.io API', 2],
        ['Create Rev.io Service: Rev.io API', 1],
        ['Create Rev.io Service: Update AMOP', 1],
      ]),
    );
    expect(await logsOf(ts)).toEqual(
      entries([
        ['AMOP Customer Assignment', 1],
        ['AMOP Customer Rate Plan/Rate Pool Assignment', 1],
        ['Carrier Rate Plan: Carrier API', 2],
      ]),
    );
    const history = await q<{ bulk: number; n: number; devices: number }>(
      `SELECT bulk_change_id AS bulk, count(*)::int AS n, count(DISTINCT device_id)::int AS devices FROM device_history
       WHERE bulk_change_id = ANY($1) AND change_type = 'carrier_rate_plan' GROUP BY 1 ORDER BY 1`,
      [[rev, ts]],
    );
    expect(history).toEqual([
      { bulk: rev, n: PER_CHANGE, devices: PER_CHANGE },
      { bulk: ts, n: PER_CHANGE, devices: PER_CHANGE },
    ]);

    // Lost callbacks were made up for by the status poll; duplicates and late ones applied nothing twice.
    const confirmedBy = await q<{ processed_by: string; n: number }>(
      `SELECT processed_by, count(*)::int AS n FROM change_log WHERE bulk_change_id = $1 AND description LIKE '%(confirmed)'
       GROUP BY 1 ORDER BY 1`,
      [ts],
    );
    const fates = countBy(relay.relayed, (r) => r.fate);
    const appliedByCallbacks = relay.relayed.reduce(
      (sum, r) => sum + r.applied.reduce((a, b) => a + b, 0),
      0,
    );
    const byCallback = confirmedBy.find((c) => c.processed_by === 'thingspace-callback')?.n ?? 0;
    const byPoll = confirmedBy.find((c) => c.processed_by === 'thingspace-poll')?.n ?? 0;
    expect(byCallback + byPoll).toBe(PER_CHANGE);
    expect(byPoll).toBeGreaterThan(0);
    // A callback that beats the worker's bookkeeping is kept and applied by the worker, not at once.
    expect(appliedByCallbacks).toBeLessThanOrEqual(byCallback);
    // Each result applied at most once, whichever copy came first.
    const appliedPerRequest = new Map<string, number>();
    for (const r of relay.relayed) {
      appliedPerRequest.set(
        r.requestId,
        (appliedPerRequest.get(r.requestId) ?? 0) + r.applied.reduce((a, b) => a + b, 0),
      );
    }
    expect([...appliedPerRequest.values()].filter((n) => n > 1)).toEqual([]);
    expect(relay.relayed.filter((r) => r.fate === 'duplicated').every((r) => r.applied.length === 2)).toBe(
      true,
    );
    const copies = { delivered: 1, lost: 0, duplicated: 2, delayed: 1 };
    expect(relay.relayed.filter((r) => r.statuses.length !== copies[r.fate])).toEqual([]);
    expect(
      relay.relayed
        .filter((r) => r.statuses.some((status) => status !== 200))
        .map((r) => ({ fate: r.fate, statuses: r.statuses, refusals: r.refusals })),
    ).toEqual([]);

    // Stale copies of every callback, newest first, long after the fact: nothing moves.
    const before = JSON.stringify([await countsOf(ts), await logsOf(ts)]);
    const replayed = [];
    for (const r of [...tsState.requests].reverse()) {
      const res = await app.inject({
        method: 'POST',
        url: relay.relayed.at(-1)!.url,
        payload: {
          requestId: r.requestId,
          status: r.status,
          deviceIds: r.iccids.map((id) => ({ kind: 'iccid', id })),
        },
      });
      expect(res.statusCode, res.body).toBe(200);
      replayed.push(res.json<{ applied: number }>().applied);
    }
    expect(replayed.every((applied) => applied === 0)).toBe(true);
    expect(JSON.stringify([await countsOf(ts), await logsOf(ts)])).toBe(before);

    console.log(
      [
        `faulty partners: ${2 * PER_CHANGE} devices (Rev.io + 2 products + Jasper plan; ThingSpace plan), finished in ${runSeconds.toFixed(1)} s`,
        await report('revio', {
          services: notOnce(revIccids, servicesPerIccid).length,
          products: notOnce(productPairs, productsPerPair).length,
        }),
        await report('jasper', { planEdits: notOnce(revIccids, appliedEdits).length }),
        await report('thingspace', {
          planChangeRequests: repeated.length,
          devicesChangedTwice: changedTwice.length,
        }),
        `  callbacks: ${relay.relayed.length} sent by ThingSpace, ${JSON.stringify(Object.fromEntries(fates))}; confirmed by callback ${byCallback} (${appliedByCallbacks} at once, the rest from the inbox), by poll ${byPoll}; ${replayed.length} stale replays applied 0`,
        `  outcomes: ${JSON.stringify({ rev: (await countsOf(rev)).sql, ts: (await countsOf(ts)).sql })}`,
      ].join('\n'),
    );
    // ThingSpace offers no way to find a plan change whose answer was lost, so it is sent again (a
    // known gap, in the README): a device's plan may be changed twice only after such a loss.
    const tsRequests = (await sims.thingspace.inject({ method: 'GET', url: '/__sim/requests' })).json<
      { method: string; path: string; body: unknown; faults: string[] }[]
    >();
    const lostAnswer = ['hang', 'commitThenDrop', 'latency'];
    const unanswered = new Set(
      tsRequests
        .filter(
          (r) =>
            r.method === 'PUT' &&
            r.path === '/api/m2m/v1/devices/actions/plan' &&
            r.faults.some((f) => lostAnswer.includes(f)),
        )
        .flatMap((r) => JSON.stringify(r.body ?? '').match(/\d{19,20}/g) ?? []),
    );
    expect(changedTwice.filter((iccid) => !unanswered.has(iccid))).toEqual([]);
  }, 240_000);

  it('a permanent refusal ends only its own devices in ERROR, with the remote message', async () => {
    const closed = (
      await q<{ id: number }>(
        `INSERT INTO customer (tenant_id, name, kind, rev_customer_id, rev_credentials_id, active)
         SELECT tenant_id, 'Closed Account Ltd', 'rev', 999400, rev_credentials_id, true FROM customer WHERE id = $1
         RETURNING id`,
        [fleet.revCustomer.id],
      )
    )[0]!.id;
    await q(
      `INSERT INTO site (tenant_id, customer_id, name, is_default) VALUES ($1, $2, 'Headquarters', true)`,
      [fleet.tenantId, closed],
    );
    // An ICCID Control Center does not know (…0404), Luhn-valid so that validation lets it through.
    const payload = Array.from({ length: 100 }, (_, v) => `89148012999${String(v).padStart(4, '0')}040`).find(
      (p) => luhnCheckDigit(p) === '4',
    )!;
    const unknownIccid = `${payload}4`;
    await q(
      `INSERT INTO device (tenant_id, service_provider_id, iccid, msisdn, status, activated_at, carrier_rate_plan, communication_plan)
       VALUES ($1, $2, $3, '12019990404', 'active', '2024-01-01', 'IOT-100MB', 'CP-Standard-Data')`,
      [fleet.tenantId, fleet.jasper, unknownIccid],
    );
    const others = await devicesFor(fleet.jasper, 70);
    const common = {
      serviceProviderId: fleet.jasper,
      createRevService: true,
      revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 4.5 }] },
      addCarrierRatePlan: true,
      carrierRatePlan: JASPER_PLAN,
    };
    const started = Date.now();
    const refused = await submit({ ...common, customerId: closed, devices: others.slice(0, 10) });
    const mixed = await submit({
      ...common,
      customerId: fleet.revCustomer.id,
      devices: [...others.slice(10), unknownIccid],
    });
    expect(await finish([refused, mixed])).toEqual(['ERROR', 'PROCESSED_WITH_ERRORS']);

    const outcomes = await q<{
      bulk: number;
      iccid: string;
      status: string;
      category: string | null;
      retryable: boolean | null;
      message: string | null;
    }>(
      `SELECT bulk_change_id AS bulk, iccid, status, error_category AS category, retryable, message FROM bulk_change_device
       WHERE bulk_change_id = ANY($1) ORDER BY id`,
      [[refused, mixed]],
    );
    const failed = outcomes.filter((o) => o.status !== 'PROCESSED');
    expect(failed.map((o) => o.iccid).sort()).toEqual([...others.slice(0, 10), unknownIccid].sort());
    for (const o of failed.filter((f) => f.bulk === refused)) {
      expect(o).toMatchObject({
        status: 'ERROR',
        category: 'integration',
        retryable: false,
        message:
          'Rev.io service not created: revio 400: Customer 999400 is closed: services cannot be added.',
      });
    }
    expect(failed.find((f) => f.bulk === mixed)).toMatchObject({
      status: 'ERROR',
      category: 'integration',
      retryable: false,
      message: 'Jasper rate plan not changed: jasper 404: Resource not found - Invalid ICCID.',
    });
    expect(outcomes.filter((o) => o.status === 'PROCESSED')).toHaveLength(60);
    for (const id of [refused, mixed]) {
      const { api, sql } = await countsOf(id);
      expect(api).toEqual(sql);
    }
    // Nothing was billed for the closed customer; the others have one service each (the unknown
    // ICCID's included: billing came first and succeeded).
    const perIccid = countBy(revioSimState(sims.revio).services, (s) => s.number2 ?? '');
    expect(others.slice(0, 10).filter((i) => perIccid.has(i))).toEqual([]);
    expect(notOnce([...others.slice(10), unknownIccid], perIccid)).toEqual([]);
    console.log(
      `permanent refusals (faults still on): closed Rev.io customer → ${JSON.stringify((await countsOf(refused)).sql)}; unknown Jasper ICCID → ${JSON.stringify((await countsOf(mixed)).sql)}; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }, 180_000);

  it('a create that Rev.io commits after we gave up waiting is not billed twice', async () => {
    // Not a lost answer but a late one: Rev.io finishes the create 300 ms after our timeout, so a
    // lookup right after the timeout does not see it yet.
    const devices = await devicesFor(fleet.thingspace, 40);
    const late: Labelled = {
      label: 'late create',
      method: 'POST',
      path: '/v1/Services',
      latencyMs: HTTP_TIMEOUT_MS + 300,
      rate: 0.2,
    };
    await addFaults('revio', [late]);
    const id = await submit({
      serviceProviderId: fleet.thingspace,
      customerId: fleet.revCustomer.id,
      devices,
      createRevService: true,
      revService: { serviceTypeId: 3, packageId: 5 },
    });
    expect(await finish([id])).toEqual(['PROCESSED']);
    await sleep(HTTP_TIMEOUT_MS + 500); // every late create has landed
    const perIccid = countBy(revioSimState(sims.revio).services, (s) => s.number2 ?? '');
    const billedTwice = devices.filter((i) => (perIccid.get(i) ?? 0) > 1);
    const lateCreates = (await faultsInjected('revio'))['late create'] ?? 0;
    console.log(
      `late creates: ${lateCreates} of ${devices.length} devices' creates answered after the ${HTTP_TIMEOUT_MS} ms timeout; ${billedTwice.length} devices now have 2+ Rev.io services`,
    );
    expect(lateCreates).toBeGreaterThan(0);
    expect(billedTwice, 'devices with more than one Rev.io service (billed twice)').toEqual([]);
  }, 120_000);
});
