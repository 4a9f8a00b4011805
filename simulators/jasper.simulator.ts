import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { apply, parseEdit, type PendingChange } from './jasper/edits.ts';
import {
  answerRefusals,
  decideOnArrival,
  type JasperSimAccount,
  type JasperSimAccountState,
  type Verdict,
} from './jasper/limits.ts';
import {
  CUSTOM_FIELDS,
  err,
  ERRORS,
  errorBody,
  jasperTime,
  utcToday,
  type CustomField,
  type JasperSimDevice,
} from './jasper/wire.ts';
import { registerSimControl } from './sim-control.ts';

export { JASPER_STATUSES, type JasperSimDevice, type JasperSimStatus } from './jasper/wire.ts';
export type { PendingChange } from './jasper/edits.ts';
export type { JasperSimAccount, JasperSimAccountState } from './jasper/limits.ts';

/**
 * Cisco IoT Control Center (Jasper) REST API, `/rws/api/v1`, in memory, for tests and the demo.
 *
 * Magic ICCIDs (checked before any stored device, so they work with or without seeding):
 *   …0500  every request answers 500 (errorCode 30000001)
 *   …0404  every request answers 404 (errorCode 20000001), even with `autoCreateDevices`
 *   …0429  the first request for that ICCID answers 429 with `Retry-After: 1`, later ones are normal
 *          (until `/__sim/reset`)
 *
 * Error codes. From Control Center's published list: 10000001 invalid credentials (401), 10000023
 * JSON not well formed (400), 10000028 unrecognised parameters (400), 20000001 "Resource not found -
 * Invalid ICCID." (404), 30000001 unknown server error (500). Our own choice, as Cisco does not
 * document them: 20000017 invalid rate plan, 20000018 invalid communication plan, 20000019 invalid
 * status, 20000020 invalid effectiveDate (all 400), 40000029 too many requests (429, itself inferred).
 *
 * Limits, per account (defaults 1 in flight, 5 per rolling 1,000 ms): a request arriving while another
 * of the same account is in flight, or after 5 accepted ones within the last second, answers 429 with
 * `Retry-After`. Only accepted requests count toward the 5. Requests are in flight from arrival until
 * their response is written or their connection closes.
 *
 * Catalogues (inferred): `GET /rateplans` → `{ ratePlans: [{ name, description?, communicationPlan?,
 * status }] }` and `GET /communicationplans` → `{ communicationPlans: [...] }`, from the options.
 *
 * Control: `registerSimControl` routes, plus `POST /__sim/devices` (array of devices to upsert) and
 * `GET /__sim/state` (devices with pending changes; per-account counters and accepted-request times).
 *
 * The records and errors are in jasper/wire.ts, the limits in jasper/limits.ts, the edits in
 * jasper/edits.ts.
 */

export interface JasperSimulatorOptions {
  /** Accepted API users; default the demo account `simbind` / `demo-jasper-key`. */
  accounts?: JasperSimAccount[];
  devices?: (Partial<JasperSimDevice> & { iccid: string })[];
  /** The account's plans: names, or records as `GET /rateplans` lists them. */
  ratePlans?: (string | JasperSimPlan)[];
  communicationPlans?: (string | JasperSimPlan)[];
  /** Treat any unknown 19–20 digit ICCID (magic ones aside) as an ACTIVATED device; default true. */
  autoCreateDevices?: boolean;
  limits?: { requests?: number; windowMs?: number; concurrency?: number };
}

/** A plan as the catalogue lists answer it (inferred shape, see `JASPER_CATALOGUE_PATHS`). */
export interface JasperSimPlan {
  name: string;
  description?: string;
  communicationPlan?: string;
  status?: 'ACTIVE' | 'INACTIVE';
}

/** `GET /__sim/state`; `accounts` is keyed by username. */
export interface JasperSimState {
  devices: (JasperSimDevice & { pending: PendingChange[] })[];
  accounts: Record<string, JasperSimAccountState>;
}

export function buildJasperSimulator(options: JasperSimulatorOptions = {}): FastifyInstance {
  const app = Fastify({ logger: false });
  const accounts = options.accounts ?? [{ username: 'simbind', apiKey: 'demo-jasper-key' }];
  const planOf = (plan: string | JasperSimPlan): JasperSimPlan =>
    typeof plan === 'string' ? { name: plan } : plan;
  const ratePlanList = (options.ratePlans ?? ['IoT Basic 1MB', 'IoT Pooled 100MB', 'IoT Pooled 1GB']).map(
    planOf,
  );
  const commPlanList = (options.communicationPlans ?? ['Data Only LTE', 'Data + SMS LTE']).map(planOf);
  const ratePlans = new Set(ratePlanList.map((p) => p.name));
  const commPlans = new Set(commPlanList.map((p) => p.name));
  const autoCreate = options.autoCreateDevices ?? true;
  const limits = { requests: 5, windowMs: 1000, concurrency: 1, ...options.limits };

  const devices = new Map<string, JasperSimDevice>();
  /** The inventory's order, dropped on every change of a device (see GET /devices). */
  let byUpdate: { time: number; device: JasperSimDevice }[] | undefined;
  const pending = new Map<string, PendingChange[]>();
  const usage = new Map<string, JasperSimAccountState>();
  const throttledOnce = new Set<string>();
  const verdicts = new WeakMap<FastifyRequest, Verdict>();

  const upsert = (input: Partial<JasperSimDevice> & { iccid: string }) => {
    const known = devices.get(input.iccid);
    // A seeded change is a change: it moves `dateUpdated` unless the seed sets it.
    const touched = known ? { dateUpdated: jasperTime(new Date()) } : {};
    devices.set(input.iccid, { ...(known ?? blankDevice(input.iccid)), ...touched, ...input });
    byUpdate = undefined;
  };
  const reset = () => {
    devices.clear();
    pending.clear();
    usage.clear();
    throttledOnce.clear();
    for (const device of options.devices ?? []) upsert(device);
  };

  const blankDevice = (iccid: string): JasperSimDevice => {
    const tail = iccid.replace(/\D/g, '').padStart(10, '0').slice(-10);
    const now = jasperTime(new Date());
    return {
      iccid,
      imsi: `31017${tail}`,
      msisdn: `1555${tail.slice(-7)}`,
      imei: `35${tail.padStart(13, '0')}`,
      status: 'ACTIVATED',
      ratePlan: [...ratePlans][0] ?? '',
      communicationPlan: [...commPlans][0] ?? '',
      customer: '',
      dateActivated: now,
      dateUpdated: now,
      ...(Object.fromEntries(CUSTOM_FIELDS.map((field) => [field, ''])) as Record<CustomField, string>),
    };
  };
  reset();

  // Limits are decided on arrival, before faults and body parsing, as Control Center would; the
  // answer itself is sent from `preHandler` so that sim-control records the refused request.
  decideOnArrival(app, { accounts, limits, usage, verdicts });

  registerSimControl(app, { errorBody, onReset: reset });

  answerRefusals(app, verdicts);

  app.setErrorHandler((error: { statusCode?: number; code?: string }, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) return reply.code(500).send(ERRORS.server);
    return reply
      .code(status)
      .send(error.code?.startsWith('FST_ERR_CTP') ? ERRORS.badJson : errorBody(status));
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(ERRORS.notFound));

  /** The device, or `undefined` once the answer for a magic or unknown ICCID has been sent. */
  const deviceFor = (iccid: string, reply: FastifyReply): JasperSimDevice | undefined => {
    if (iccid.endsWith('0500')) return void reply.code(500).send(ERRORS.server);
    if (iccid.endsWith('0404')) return void reply.code(404).send(ERRORS.notFound);
    if (iccid.endsWith('0429') && !throttledOnce.has(iccid)) {
      throttledOnce.add(iccid);
      return void reply.code(429).header('retry-after', '1').send(ERRORS.tooMany);
    }
    if (!devices.has(iccid) && autoCreate && /^\d{19,20}$/.test(iccid)) upsert({ iccid });
    const device = devices.get(iccid);
    if (device === undefined) return void reply.code(404).send(ERRORS.notFound);
    applyDueChanges(device);
    return device;
  };

  // Scheduled changes take effect lazily, the first time the device is touched on or after their day.
  const applyDueChanges = (device: JasperSimDevice) => {
    const [due, later] = partition(pending.get(device.iccid) ?? [], (c) => c.effectiveDate <= utcToday());
    for (const change of due) apply(device, change.changes);
    if (due.length > 0) byUpdate = undefined;
    pending.set(device.iccid, later);
  };

  // The inventory: devices changed since a time, oldest change first (then by ICCID, so pages are
  // stable). Sorted once per change of the fleet, not per page: a 100,000-device walk is 2,000 pages.
  app.get<{ Querystring: Record<string, string | undefined> }>(
    '/rws/api/v1/devices',
    async (request, reply) => {
      const { modifiedSince, pageSize = '50', pageNumber = '1', status } = request.query;
      const since = modifiedSince === undefined ? NaN : Date.parse(modifiedSince);
      if (Number.isNaN(since)) {
        return reply.code(400).send(err('modifiedSince is required: an ISO-8601 timestamp', '10000028'));
      }
      if (since < Date.now() - 366 * 24 * 3600_000) {
        return reply.code(400).send(err('modifiedSince may be at most one year back', '10000028'));
      }
      const size = Number(pageSize);
      const number = Number(pageNumber);
      if (!Number.isInteger(size) || size < 1 || size > 50 || !Number.isInteger(number) || number < 1) {
        return reply.code(400).send(err('pageSize must be 1 to 50 and pageNumber from 1', '10000028'));
      }
      byUpdate ??= [...devices.values()]
        .map((device) => ({
          time: Date.parse(device.dateUpdated.replace(' ', 'T').replace('+0000', 'Z')),
          device,
        }))
        .sort((a, b) => a.time - b.time || a.device.iccid.localeCompare(b.device.iccid));
      // The first change at or after `since` (the list is in time order), then the status filter.
      let low = 0;
      let high = byUpdate.length;
      while (low < high) {
        const mid = (low + high) >> 1;
        if (byUpdate[mid]!.time < since) low = mid + 1;
        else high = mid;
      }
      const matching =
        status === undefined ? byUpdate : byUpdate.slice(low).filter((e) => e.device.status === status);
      const first = (status === undefined ? low : 0) + (number - 1) * size;
      const slice = matching.slice(first, first + size);
      return {
        pageNumber: number,
        lastPage: first + size >= matching.length,
        devices: slice.map(({ device }) => ({
          iccid: device.iccid,
          status: device.status,
          ratePlan: device.ratePlan,
          communicationPlan: device.communicationPlan,
          dateUpdated: device.dateUpdated,
        })),
      };
    },
  );

  // The account's catalogues (inferred paths and shapes: Control Center publishes no such list).
  const planView = (p: JasperSimPlan) => ({ status: 'ACTIVE', ...p });
  app.get('/rws/api/v1/rateplans', async () => ({ ratePlans: ratePlanList.map(planView) }));
  app.get('/rws/api/v1/communicationplans', async () => ({
    communicationPlans: commPlanList.map(planView),
  }));

  app.get<{ Params: { iccid: string } }>('/rws/api/v1/devices/:iccid', async (request, reply) => {
    return deviceFor(request.params.iccid, reply) ?? reply;
  });

  app.put<{ Params: { iccid: string } }>('/rws/api/v1/devices/:iccid', async (request, reply) => {
    const found = deviceFor(request.params.iccid, reply);
    if (found === undefined) return reply;
    const edit = parseEdit(request.body, ratePlans, commPlans);
    if ('error' in edit) return reply.code(400).send(edit.error);
    const { changes, effectiveDate } = edit;
    if (effectiveDate !== undefined && effectiveDate > utcToday()) {
      const list = pending.get(found.iccid) ?? [];
      list.push({ effectiveDate, changes, requestedAt: new Date().toISOString() });
      pending.set(found.iccid, list);
      return reply.code(202).send({ iccid: found.iccid });
    }
    apply(found, changes);
    byUpdate = undefined;
    return { iccid: found.iccid };
  });

  app.post('/__sim/devices', async (request, reply) => {
    const body = request.body;
    if (!Array.isArray(body) || !body.every((d) => typeof (d as { iccid?: unknown }).iccid === 'string')) {
      return reply.code(400).send(err('Body must be an array of devices, each with an iccid', '10000028'));
    }
    for (const device of body as (Partial<JasperSimDevice> & { iccid: string })[]) upsert(device);
    return { ok: true, count: body.length };
  });

  app.get('/__sim/state', (_request, reply) => {
    const state: JasperSimState = {
      devices: [...devices.values()].map((device) => ({
        ...device,
        pending: pending.get(device.iccid) ?? [],
      })),
      accounts: Object.fromEntries(usage),
    };
    return reply.send(state);
  });

  return app;
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((item) => !test(item))];
}
