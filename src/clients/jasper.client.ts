import { PermanentError, type Exchange } from '../errors.ts';
import { basicAuth, send, type Call, type CallObserver, type HttpRequest } from './http-client.ts';
import type { AccountLimit, RateGate } from './rate-gate.ts';

/**
 * Cisco IoT Control Center (Jasper) REST API, `rws/api/v1`. Control Center allows one call at a time
 * per account and 5 per second, so every request goes through the rate gate, keyed `jasper:<id>`.
 */

const SYSTEM = 'jasper';

export interface JasperCredentials {
  /** Our id for this credential set; names the rate-limit key. */
  id: string;
  /** e.g. `https://restapi3.jasper.com/rws/api/v1` */
  baseUrl: string;
  username: string;
  apiKey: string;
  /** Default 5 per 1,000 ms, concurrency 1. */
  rateLimit?: { requests: number; windowMs: number; concurrency?: number };
}

/** What we send; Control Center reports more statuses (`ACTIVATION_READY`, `REPLACED`, …). */
export type JasperDeviceStatus = 'ACTIVATED' | 'DEACTIVATED' | 'INVENTORY' | 'TEST_READY' | 'RETIRED';

type AccountCustomField = `accountCustom${1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10}`;

export type JasperDevice = {
  iccid: string;
  status: string;
  imsi?: string;
  msisdn?: string;
  imei?: string;
  ratePlan?: string;
  communicationPlan?: string;
  customer?: string;
  dateActivated?: string;
  dateUpdated?: string;
} & Partial<Record<AccountCustomField, string>>;

export interface JasperDeviceEdit {
  status?: JasperDeviceStatus;
  ratePlan?: string;
  communicationPlan?: string;
  customer?: string;
  /** When the change takes effect, at most 180 days ahead; a `Date` is sent as its UTC day. */
  effectiveDate?: Date | string;
}

export interface JasperEditResult {
  iccid: string;
  /** Control Center accepted a future-dated change (202) instead of applying it now (200). */
  scheduled: boolean;
}

/** One page of an account's inventory: devices changed since a time, oldest change first. */
export interface JasperInventoryPage {
  devices: JasperDevice[];
  lastPage: boolean;
}

/** A rate plan of the account, as the catalogue list gives it. */
export interface JasperRatePlan {
  /** What devices name in `ratePlan`. */
  name: string;
  description: string | null;
  /** The communication plan the rate plan goes with, when Control Center says. */
  communicationPlan: string | null;
  active: boolean;
}

export interface JasperCommunicationPlan {
  name: string;
  description: string | null;
  active: boolean;
}

/**
 * The catalogue lists, *(inferred)*: Control Center's REST API publishes no rate plan or
 * communication plan list, so the paths and their answers (`{ ratePlans: [...] }`,
 * `{ communicationPlans: [...] }`, or a bare array) are kept here, in one place, to be changed.
 */
export const JASPER_CATALOGUE_PATHS = {
  ratePlans: { path: '/rateplans', field: 'ratePlans' },
  communicationPlans: { path: '/communicationplans', field: 'communicationPlans' },
} as const;

/** Control Center's largest inventory page. */
export const JASPER_INVENTORY_PAGE_SIZE = 50;

export interface JasperClient {
  getDevice(creds: JasperCredentials, iccid: string): Promise<Call<JasperDevice>>;
  /**
   * `GET /devices?modifiedSince=…&pageSize=…&pageNumber=…`: the devices changed since `modifiedSince`
   * (at most a year back), one page (from 1).
   */
  listDevices(
    creds: JasperCredentials,
    query: { modifiedSince: Date; pageNumber: number; pageSize?: number },
  ): Promise<Call<JasperInventoryPage>>;
  editDevice(
    creds: JasperCredentials,
    iccid: string,
    edit: JasperDeviceEdit,
  ): Promise<Call<JasperEditResult>>;
  /** The account's rate plans (see `JASPER_CATALOGUE_PATHS`). */
  listRatePlans(creds: JasperCredentials): Promise<Call<JasperRatePlan[]>>;
  /** The account's communication plans (see `JASPER_CATALOGUE_PATHS`). */
  listCommunicationPlans(creds: JasperCredentials): Promise<Call<JasperCommunicationPlan[]>>;
}

export interface JasperClientDeps {
  gate: RateGate;
  timeoutMs: number;
  observe?: CallObserver;
}

const DEVICE_TEXT_FIELDS: readonly Exclude<keyof JasperDevice, 'iccid' | 'status'>[] = [
  'imsi',
  'msisdn',
  'imei',
  'ratePlan',
  'communicationPlan',
  'customer',
  'dateActivated',
  'dateUpdated',
  ...Array.from({ length: 10 }, (_, i) => `accountCustom${i + 1}` as AccountCustomField),
];

export function createJasperClient(deps: JasperClientDeps): JasperClient {
  const call = async <T>(
    creds: JasperCredentials,
    req: Pick<HttpRequest, 'method' | 'body'> & { iccid: string },
    parse: (status: number, body: unknown) => T | undefined,
  ): Promise<Call<T>> => {
    if (req.iccid.trim() === '') throw new PermanentError('jasper: empty ICCID', { system: SYSTEM });
    const release = await deps.gate.acquire(limitFor(creds));
    try {
      const res = await send({
        system: SYSTEM,
        operation: `${req.method} /devices/:iccid`,
        observe: deps.observe,
        method: req.method,
        url: `${creds.baseUrl.replace(/\/+$/, '')}/devices/${encodeURIComponent(req.iccid)}`,
        headers: { authorization: basicAuth(creds.username, creds.apiKey) },
        body: req.body,
        timeoutMs: deps.timeoutMs,
        describeError,
      });
      const value = parse(res.status, res.body);
      if (value === undefined) throw unexpected(res.status, res.exchange);
      return { value, exchange: res.exchange };
    } finally {
      await release();
    }
  };

  /** One catalogue list: its records, each with a non-empty `name`. */
  const listPlans = async (
    creds: JasperCredentials,
    list: keyof typeof JASPER_CATALOGUE_PATHS,
  ): Promise<Call<Record<string, unknown>[]>> => {
    const { path, field } = JASPER_CATALOGUE_PATHS[list];
    const release = await deps.gate.acquire(limitFor(creds));
    try {
      const res = await send({
        system: SYSTEM,
        operation: `GET ${path}`,
        observe: deps.observe,
        method: 'GET',
        url: `${creds.baseUrl.replace(/\/+$/, '')}${path}`,
        headers: { authorization: basicAuth(creds.username, creds.apiKey) },
        timeoutMs: deps.timeoutMs,
        describeError,
      });
      const body = res.body as Record<string, unknown> | unknown[] | undefined;
      const records = Array.isArray(body) ? body : body?.[field];
      const valid =
        Array.isArray(records) &&
        records.every(
          (r: unknown) =>
            typeof r === 'object' && r !== null && typeof (r as { name?: unknown }).name === 'string',
        );
      if (!valid || (records as { name: string }[]).some((r) => r.name.trim() === '')) {
        throw new PermanentError(`jasper ${res.status}: GET ${path} answered no list of named plans`, {
          system: SYSTEM,
          status: res.status,
          exchange: res.exchange,
        });
      }
      return { value: records as Record<string, unknown>[], exchange: res.exchange };
    } finally {
      await release();
    }
  };
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  const activeOf = (r: Record<string, unknown>) =>
    typeof r.status === 'string' ? /^active$/i.test(r.status) : r.active !== false;

  return {
    listRatePlans: async (creds) => {
      const { value, exchange } = await listPlans(creds, 'ratePlans');
      return {
        value: value.map((r) => ({
          name: r.name as string,
          description: text(r.description),
          communicationPlan: text(r.communicationPlan),
          active: activeOf(r),
        })),
        exchange,
      };
    },

    listCommunicationPlans: async (creds) => {
      const { value, exchange } = await listPlans(creds, 'communicationPlans');
      return {
        value: value.map((r) => ({
          name: r.name as string,
          description: text(r.description),
          active: activeOf(r),
        })),
        exchange,
      };
    },

    getDevice: (creds, iccid) => call(creds, { method: 'GET', iccid }, (_status, body) => parseDevice(body)),

    listDevices: async (creds, query) => {
      const params = new URLSearchParams({
        modifiedSince: query.modifiedSince.toISOString(),
        pageSize: String(query.pageSize ?? JASPER_INVENTORY_PAGE_SIZE),
        pageNumber: String(query.pageNumber),
      });
      const release = await deps.gate.acquire(limitFor(creds));
      try {
        const res = await send({
          system: SYSTEM,
          operation: 'GET /devices',
          observe: deps.observe,
          method: 'GET',
          url: `${creds.baseUrl.replace(/\/+$/, '')}/devices?${params.toString()}`,
          headers: { authorization: basicAuth(creds.username, creds.apiKey) },
          timeoutMs: deps.timeoutMs,
          describeError,
        });
        const body = res.body as { devices?: unknown; lastPage?: unknown } | undefined;
        if (!Array.isArray(body?.devices) || typeof body.lastPage !== 'boolean') {
          throw new PermanentError(`jasper ${res.status}: an inventory page without devices and lastPage`, {
            system: SYSTEM,
            status: res.status,
            exchange: res.exchange,
          });
        }
        const devices = body.devices.map(parseDevice);
        if (devices.some((d) => d === undefined)) {
          throw new PermanentError(`jasper ${res.status}: an inventory device without an iccid`, {
            system: SYSTEM,
            status: res.status,
            exchange: res.exchange,
          });
        }
        return {
          value: { devices: devices as JasperDevice[], lastPage: body.lastPage },
          exchange: res.exchange,
        };
      } finally {
        await release();
      }
    },

    editDevice: async (creds, iccid, edit) => {
      const { status, ratePlan, communicationPlan, customer } = edit;
      const changes = { status, ratePlan, communicationPlan, customer };
      if (Object.values(changes).every((v) => v === undefined)) {
        throw new PermanentError('jasper: edit without any change', { system: SYSTEM });
      }
      const effectiveDate = edit.effectiveDate === undefined ? undefined : toYmd(edit.effectiveDate);
      const body = { ...changes, effectiveDate };
      return await call(creds, { method: 'PUT', iccid, body }, (httpStatus, res) => {
        const echoed = iccidOf(res);
        return echoed === undefined ? undefined : { iccid: echoed, scheduled: httpStatus === 202 };
      });
    },
  };
}

function limitFor(creds: JasperCredentials): AccountLimit {
  const { requests = 5, windowMs = 1000, concurrency = 1 } = creds.rateLimit ?? {};
  return { key: `${SYSTEM}:${creds.id}`, requests, windowMs, concurrency };
}

function describeError(_status: number, body: unknown): { code?: string; message?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const { errorCode, errorMessage } = body as { errorCode?: unknown; errorMessage?: unknown };
  return {
    code: typeof errorCode === 'string' || typeof errorCode === 'number' ? String(errorCode) : undefined,
    message: typeof errorMessage === 'string' ? errorMessage : undefined,
  };
}

/** Success means a 2xx carrying a non-empty `iccid`; anything else is a reply we cannot trust. */
function unexpected(status: number, exchange: Exchange): PermanentError {
  return new PermanentError(`jasper ${status}: answer without an iccid`, {
    system: SYSTEM,
    status,
    exchange,
  });
}

function iccidOf(body: unknown): string | undefined {
  const iccid = typeof body === 'object' && body !== null ? (body as { iccid?: unknown }).iccid : undefined;
  return typeof iccid === 'string' && iccid.trim() !== '' ? iccid : undefined;
}

function parseDevice(body: unknown): JasperDevice | undefined {
  const iccid = iccidOf(body);
  if (iccid === undefined) return undefined;
  const raw = body as Record<string, unknown>;
  const device: JasperDevice = { iccid, status: typeof raw.status === 'string' ? raw.status : '' };
  for (const field of DEVICE_TEXT_FIELDS) {
    const value = raw[field];
    if (typeof value === 'string') device[field] = value;
  }
  return device;
}

/** Control Center wants `yyyy-MM-dd`; a `Date` is taken as its UTC calendar day. */
function toYmd(value: Date | string): string {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) {
    throw new PermanentError(`jasper: invalid effectiveDate ${String(value)}`, { system: SYSTEM });
  }
  return date.toISOString().slice(0, 10);
}
