import {
  InvalidInputError,
  PermanentError,
  isIntegrationError,
  type Exchange,
  type FieldProblem,
} from '../errors.ts';
import {
  basicAuth,
  send,
  type Call,
  type CallObserver,
  type HttpRequest,
  type HttpResponse,
} from './http-client.ts';
import type { AccountLimit, RateGate } from './rate-gate.ts';

/**
 * Verizon ThingSpace Connectivity Management (M2M). Two tokens guard every call: an OAuth token
 * (`/ts/v1/oauth2/token`, cached until shortly before `expires_in`) and an M2M session
 * (`/m2m/v1/session/login`, idle-expiring, with no expiry announced). The session is renewed only
 * when a call is refused with a `…SessionToken.*` code (`Expired` after idling, `Invalid` when the
 * service no longer knows it), then the call is retried once; a 401 fault drops the OAuth token
 * the same way. ThingSpace locks an account after 5 failed logins in a row, so this client stops
 * at 4 and refuses further attempts until one succeeds or the process restarts.
 */

const SYSTEM = 'thingspace';
const DEFAULT_RATE_LIMIT = { requests: 10, windowMs: 1_000 };
const MAX_FAILED_LOGINS = 4;
const TOKEN_REFRESH_MARGIN_MS = 60_000;
const ACCOUNT_LOCKED = /\.AccountLocked$/;
const SESSION_REFUSED = /\.SessionToken\./;
const DEVICE_NOT_FOUND = /\.DeviceNotFound$/;

export interface ThingSpaceCredentials {
  /** Simbind's id for these credentials: keys the token caches and the rate limit. */
  id: string;
  /** e.g. `https://thingspace.verizon.com/api` */
  baseUrl: string;
  appKey: string;
  appSecret: string;
  username: string;
  password: string;
  accountName: string;
  /** ThingSpace publishes no limit; default 10 requests per 1,000 ms. */
  rateLimit?: { requests: number; windowMs: number };
}

export type PlanChangeStatus = 'Pending' | 'Success' | 'Failed';

export interface PlanChangeRequest {
  iccid: string;
  servicePlan: string;
  /** ISO date-time at which the change should apply; immediately when absent. */
  takeEffect?: string;
}

export interface PlanChangeResult {
  status: PlanChangeStatus;
  faultCode?: string;
  faultString?: string;
}

export interface ThingSpaceDevice {
  accountName: string;
  servicePlan: string;
  state: string;
}

/** A device of an account's inventory, as `devices/actions/list` describes it. */
export interface ThingSpaceInventoryDevice {
  iccid: string;
  imei?: string;
  /** The device's number (`mdn`, else `msisdn`). */
  mdn?: string;
  servicePlan?: string;
  /** `active`, `suspend`, `deactive`, `preactive`, `pending resume`, … */
  state?: string;
}

export interface ThingSpaceInventoryPage {
  devices: ThingSpaceInventoryDevice[];
  /** Devices without an ICCID (asked for by other ids): counted, not kept. */
  withoutIccid: number;
  hasMoreData: boolean;
  /** The ICCID to ask after for the next page. */
  lastSeenIccid?: string;
}

/** A service plan of the account: `code` is what a plan change sends as `servicePlan`. */
export interface ThingSpaceServicePlan {
  code: string;
  name: string;
  active: boolean;
  carrierServicePlanCode: string | null;
}

export interface ThingSpaceClient {
  /** `GET /m2m/v1/plans/{accountName}`: the account's service plans. */
  listServicePlans(creds: ThingSpaceCredentials): Promise<Call<ThingSpaceServicePlan[]>>;
  /** Starts an asynchronous plan change; the outcome comes by callback or `getRequestStatus`. */
  changeServicePlan(
    creds: ThingSpaceCredentials,
    change: PlanChangeRequest,
  ): Promise<Call<{ requestId: string }>>;
  getRequestStatus(creds: ThingSpaceCredentials, requestId: string): Promise<Call<PlanChangeResult>>;
  /** Registers `url` as the account's `CarrierService` callback (plan-change results). */
  registerCallback(
    creds: ThingSpaceCredentials,
    url: string,
  ): Promise<Call<{ accountName: string; name: string }>>;
  /** `undefined` when ThingSpace does not know the ICCID. */
  findDevice(creds: ThingSpaceCredentials, iccid: string): Promise<Call<ThingSpaceDevice | undefined>>;
  /** One page of the account's inventory, after the device last seen (the first page without). */
  listAccountDevices(
    creds: ThingSpaceCredentials,
    after?: { lastSeenIccid: string },
  ): Promise<Call<ThingSpaceInventoryPage>>;
}

export interface ThingSpaceClientDeps {
  gate: RateGate;
  timeoutMs: number;
  now?: () => number;
  /** Sees every exchange (redacted), including token fetches, logins and refused attempts. */
  onExchange?: (exchange: Exchange) => void;
  observe?: CallObserver;
}

/** `operation`: the path's pattern (`:account` for the account name …), never an id. */
type M2mRequest = Pick<HttpRequest, 'method' | 'body' | 'operation'> & { path: string };

export function createThingSpaceClient(deps: ThingSpaceClientDeps): ThingSpaceClient {
  const now = deps.now ?? Date.now;
  const tokens = new Map<string, { token: string; refreshAt: number }>();
  const sessions = new Map<string, string>();
  const tokenFlights = new Map<string, Promise<string>>();
  const sessionFlights = new Map<string, Promise<string>>();
  /** Consecutive failed logins per ThingSpace user (not per credentials id: the lock is the user's). */
  const failedLogins = new Map<string, number>();

  async function call<T>(creds: ThingSpaceCredentials, req: Omit<HttpRequest, 'system' | 'timeoutMs'>) {
    const release = await deps.gate.acquire(limitFor(creds));
    try {
      const res = await send<T>({
        ...req,
        system: SYSTEM,
        timeoutMs: deps.timeoutMs,
        describeError,
        observe: deps.observe,
      });
      deps.onExchange?.(res.exchange);
      return res;
    } catch (error) {
      if (isIntegrationError(error) && error.exchange) deps.onExchange?.(error.exchange);
      throw error;
    } finally {
      await release();
    }
  }

  function accessToken(creds: ThingSpaceCredentials): Promise<string> {
    const cached = tokens.get(creds.id);
    if (cached && cached.refreshAt > now()) return Promise.resolve(cached.token);
    return singleFlight(tokenFlights, creds.id, async () => {
      const requestedAt = now();
      const res = await call<unknown>(creds, {
        method: 'POST',
        operation: 'POST /ts/v1/oauth2/token',
        url: `${baseOf(creds)}/ts/v1/oauth2/token`,
        headers: {
          authorization: basicAuth(creds.appKey, creds.appSecret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      const token = requiredString(res, 'access_token');
      const expiresIn = isRecord(res.body) ? Number(res.body.expires_in) : NaN;
      const lifetimeMs = (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 3_600) * 1000;
      const margin = Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 10);
      tokens.set(creds.id, { token, refreshAt: requestedAt + lifetimeMs - margin });
      return token;
    });
  }

  function session(creds: ThingSpaceCredentials): Promise<string> {
    const cached = sessions.get(creds.id);
    if (cached !== undefined) return Promise.resolve(cached);
    return singleFlight(sessionFlights, creds.id, () => login(creds));
  }

  async function login(creds: ThingSpaceCredentials): Promise<string> {
    const user = `${baseOf(creds)}#${creds.username}`;
    const failures = failedLogins.get(user) ?? 0;
    if (failures >= MAX_FAILED_LOGINS) {
      throw new PermanentError(
        `${SYSTEM}: ${failures} failed logins in a row for user ${creds.username}; not trying again, ` +
          'because ThingSpace locks the account at 5. Fix the credentials, then restart simbind.',
        { system: SYSTEM },
      );
    }
    let retriedToken = false;
    for (;;) {
      const token = await accessToken(creds);
      try {
        const res = await call<unknown>(creds, {
          method: 'POST',
          operation: 'POST /m2m/v1/session/login',
          url: `${baseOf(creds)}/m2m/v1/session/login`,
          headers: { authorization: `Bearer ${token}` },
          body: { username: creds.username, password: creds.password },
        });
        const sessionToken = requiredString(res, 'sessionToken');
        failedLogins.delete(user);
        sessions.set(creds.id, sessionToken);
        return sessionToken;
      } catch (error) {
        if (!retriedToken && isTokenRefusal(error)) {
          retriedToken = true;
          dropToken(creds.id, token);
          continue;
        }
        // A refused login (not an outage, not the gateway's token check) counts towards the lock.
        if (error instanceof PermanentError && (error.status ?? 0) >= 400 && error.status !== 401) {
          const locked = ACCOUNT_LOCKED.test(error.remoteCode ?? '');
          failedLogins.set(user, locked ? MAX_FAILED_LOGINS : (failedLogins.get(user) ?? 0) + 1);
        }
        throw error;
      }
    }
  }

  function dropToken(id: string, token: string): void {
    if (tokens.get(id)?.token === token) tokens.delete(id);
  }

  /** One M2M call with both tokens; each kind of token refusal is healed and retried at most once. */
  async function m2m<T>(creds: ThingSpaceCredentials, req: M2mRequest): Promise<HttpResponse<T>> {
    let retriedToken = false;
    let retriedSession = false;
    for (;;) {
      // Session first: a login may itself renew the OAuth token, which the call must then use.
      const sessionToken = await session(creds);
      const token = await accessToken(creds);
      try {
        return await call<T>(creds, {
          method: req.method,
          operation: req.operation,
          url: `${baseOf(creds)}${req.path}`,
          headers: { authorization: `Bearer ${token}`, 'vz-m2m-token': sessionToken },
          body: req.body,
        });
      } catch (error) {
        if (!retriedToken && isTokenRefusal(error)) {
          retriedToken = true;
          dropToken(creds.id, token);
          continue;
        }
        if (!retriedSession && isSessionRefusal(error)) {
          retriedSession = true;
          // Only the caller holding the current session drops it; the others reuse the new one.
          if (sessions.get(creds.id) === sessionToken) sessions.delete(creds.id);
          continue;
        }
        throw error;
      }
    }
  }

  return {
    async listServicePlans(creds) {
      const res = await m2m<unknown>(creds, {
        method: 'GET',
        operation: 'GET /m2m/v1/plans/:account',
        path: `/m2m/v1/plans/${encodeURIComponent(creds.accountName)}`,
      });
      if (!Array.isArray(res.body)) throw unexpected('service plan list that is not an array', res);
      const plans: ThingSpaceServicePlan[] = [];
      for (const entry of res.body as unknown[]) {
        const code = isRecord(entry) && typeof entry.code === 'string' ? entry.code.trim() : '';
        if (!isRecord(entry) || code === '') throw unexpected('a service plan without a code', res);
        plans.push({
          code,
          name: typeof entry.name === 'string' && entry.name !== '' ? entry.name : code,
          active: entry.isActive !== false,
          carrierServicePlanCode:
            typeof entry.carrierServicePlanCode === 'string' ? entry.carrierServicePlanCode : null,
        });
      }
      return { value: plans, exchange: res.exchange };
    },

    async changeServicePlan(creds, change) {
      const res = await m2m<unknown>(creds, {
        method: 'PUT',
        operation: 'PUT /m2m/v1/devices/actions/plan',
        path: '/m2m/v1/devices/actions/plan',
        body: {
          devices: [{ deviceIds: [{ kind: 'iccid', id: change.iccid }] }],
          servicePlan: change.servicePlan,
          takeEffect: change.takeEffect,
        },
      });
      return { value: { requestId: requiredString(res, 'requestId') }, exchange: res.exchange };
    },

    async getRequestStatus(creds, requestId) {
      const account = encodeURIComponent(creds.accountName);
      const res = await m2m<unknown>(creds, {
        method: 'GET',
        operation: 'GET /m2m/v1/accounts/:account/requests/:requestId/status',
        path: `/m2m/v1/accounts/${account}/requests/${encodeURIComponent(requestId)}/status`,
      });
      const body = isRecord(res.body) ? res.body : {};
      if (!isPlanChangeStatus(body.status)) throw unexpected(`request status '${String(body.status)}'`, res);
      return { value: { status: body.status, ...faultOf(body.faultResponse) }, exchange: res.exchange };
    },

    async registerCallback(creds, url) {
      const res = await m2m<unknown>(creds, {
        method: 'POST',
        operation: 'POST /m2m/v1/callbacks/:account',
        path: `/m2m/v1/callbacks/${encodeURIComponent(creds.accountName)}`,
        body: { name: 'CarrierService', url },
      });
      return { value: { accountName: creds.accountName, name: 'CarrierService' }, exchange: res.exchange };
    },

    async findDevice(creds, iccid) {
      let res: HttpResponse<unknown>;
      try {
        res = await m2m<unknown>(creds, {
          method: 'POST',
          operation: 'POST /m2m/v1/devices/actions/list',
          path: '/m2m/v1/devices/actions/list',
          body: { deviceId: { kind: 'iccid', id: iccid } },
        });
      } catch (error) {
        if (
          error instanceof PermanentError &&
          error.exchange &&
          DEVICE_NOT_FOUND.test(error.remoteCode ?? '')
        ) {
          return { value: undefined, exchange: error.exchange };
        }
        throw error;
      }
      const device = isRecord(res.body) ? firstOf(res.body.devices) : undefined;
      if (device === undefined) return { value: undefined, exchange: res.exchange };
      const carrier = isRecord(device) ? firstOf(device.carrierInformations) : undefined;
      if (!isRecord(device) || typeof device.accountName !== 'string' || !isRecord(carrier)) {
        throw unexpected('device without accountName or carrierInformations', res);
      }
      const value = {
        accountName: device.accountName,
        servicePlan: typeof carrier.servicePlan === 'string' ? carrier.servicePlan : '',
        state: typeof carrier.state === 'string' ? carrier.state : '',
      };
      return { value, exchange: res.exchange };
    },

    async listAccountDevices(creds, after) {
      const res = await m2m<unknown>(creds, {
        method: 'POST',
        operation: 'POST /m2m/v1/devices/actions/list',
        path: '/m2m/v1/devices/actions/list',
        body: {
          accountName: creds.accountName,
          ...(after ? { lastSeenDeviceKind: 'iccid', lastSeenDeviceId: after.lastSeenIccid } : {}),
        },
      });
      const body = isRecord(res.body) ? res.body : {};
      if (!Array.isArray(body.devices) || typeof body.hasMoreData !== 'boolean') {
        throw unexpected('inventory page without devices or hasMoreData', res);
      }
      const devices: ThingSpaceInventoryDevice[] = [];
      let withoutIccid = 0;
      let lastSeenIccid: string | undefined;
      for (const entry of body.devices as unknown[]) {
        const ids = isRecord(entry) && Array.isArray(entry.deviceIds) ? (entry.deviceIds as unknown[]) : [];
        const idOf = (kind: string) => {
          const found = ids.find((d) => isRecord(d) && String(d.kind).toLowerCase() === kind);
          return isRecord(found) && typeof found.id === 'string' ? found.id : undefined;
        };
        const iccid = idOf('iccid');
        if (iccid === undefined) {
          withoutIccid += 1;
          continue;
        }
        lastSeenIccid = iccid;
        const carrier = isRecord(entry) ? firstOf(entry.carrierInformations) : undefined;
        const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
        const mdn = idOf('mdn') ?? idOf('msisdn');
        const imei = idOf('imei');
        const servicePlan = isRecord(carrier) ? text(carrier.servicePlan) : undefined;
        const state = isRecord(carrier) ? text(carrier.state) : undefined;
        devices.push({
          iccid,
          ...(imei !== undefined ? { imei } : {}),
          ...(mdn !== undefined ? { mdn } : {}),
          ...(servicePlan !== undefined ? { servicePlan } : {}),
          ...(state !== undefined ? { state } : {}),
        });
      }
      if (body.hasMoreData && lastSeenIccid === undefined) {
        throw unexpected('an inventory page with more to come but no ICCID to continue after', res);
      }
      return {
        value: {
          devices,
          withoutIccid,
          hasMoreData: body.hasMoreData,
          ...(lastSeenIccid !== undefined ? { lastSeenIccid } : {}),
        },
        exchange: res.exchange,
      };
    },
  };
}

export interface CarrierCallback {
  requestId: string;
  status: 'Success' | 'Failed';
  iccids: string[];
  faultCode?: string;
  faultString?: string;
}

/**
 * Validates what ThingSpace POSTs to the `CarrierService` callback:
 * `{ requestId, deviceIds: [{ kind, id }], status: "Success"|"Failed", faultResponse? }`.
 * Throws `InvalidInputError` listing every problem.
 */
export function parseCarrierCallback(body: unknown): CarrierCallback {
  if (!isRecord(body)) throw new InvalidInputError('ThingSpace callback: body must be a JSON object');
  const problems: FieldProblem[] = [];
  const { requestId, status, deviceIds, faultResponse } = body;
  if (typeof requestId !== 'string' || requestId === '') {
    problems.push({ path: '/requestId', message: 'must be a non-empty string' });
  }
  if (status !== 'Success' && status !== 'Failed') {
    problems.push({ path: '/status', message: 'must be "Success" or "Failed"' });
  }
  const iccids: string[] = [];
  if (!Array.isArray(deviceIds)) {
    problems.push({ path: '/deviceIds', message: 'must be an array of { kind, id }' });
  } else {
    deviceIds.forEach((entry: unknown, i) => {
      if (!isRecord(entry) || typeof entry.kind !== 'string' || typeof entry.id !== 'string') {
        problems.push({ path: `/deviceIds/${i}`, message: 'must be { kind: string, id: string }' });
      } else if (entry.kind.toLowerCase() === 'iccid') {
        iccids.push(entry.id);
      }
    });
  }
  if (faultResponse !== undefined && !isRecord(faultResponse)) {
    problems.push({ path: '/faultResponse', message: 'must be an object { faultcode, faultstring }' });
  }
  if (problems.length > 0 || typeof requestId !== 'string' || (status !== 'Success' && status !== 'Failed')) {
    throw new InvalidInputError('ThingSpace callback: invalid payload', problems);
  }
  return { requestId, status, iccids, ...faultOf(faultResponse) };
}

function faultOf(value: unknown): { faultCode?: string; faultString?: string } {
  if (!isRecord(value)) return {};
  return {
    ...(typeof value.faultcode === 'string' ? { faultCode: value.faultcode } : {}),
    ...(typeof value.faultstring === 'string' ? { faultString: value.faultstring } : {}),
  };
}

/** ThingSpace errors: M2M `{ errorCode, errorMessage }`, gateway `{ fault: { code, message } }`. */
function describeError(_status: number, body: unknown): { code?: string; message?: string } {
  if (!isRecord(body)) return {};
  if (typeof body.errorCode === 'string') {
    return {
      code: body.errorCode,
      message: typeof body.errorMessage === 'string' ? body.errorMessage : body.errorCode,
    };
  }
  if (isRecord(body.fault)) {
    const { code, message } = body.fault;
    return {
      code: typeof code === 'string' || typeof code === 'number' ? String(code) : undefined,
      message: typeof message === 'string' ? message : undefined,
    };
  }
  if (typeof body.error === 'string') {
    return {
      code: body.error,
      message: typeof body.error_description === 'string' ? body.error_description : body.error,
    };
  }
  return {};
}

function isTokenRefusal(error: unknown): boolean {
  return error instanceof PermanentError && error.status === 401;
}

function isSessionRefusal(error: unknown): boolean {
  return (
    error instanceof PermanentError && error.status === 400 && SESSION_REFUSED.test(error.remoteCode ?? '')
  );
}

function isPlanChangeStatus(value: unknown): value is PlanChangeStatus {
  return value === 'Pending' || value === 'Success' || value === 'Failed';
}

/** Concurrent callers share one in-flight fetch instead of each logging in. */
function singleFlight<T>(flights: Map<string, Promise<T>>, key: string, run: () => Promise<T>): Promise<T> {
  const existing = flights.get(key);
  if (existing) return existing;
  const flight = run().finally(() => flights.delete(key));
  flights.set(key, flight);
  return flight;
}

function limitFor(creds: ThingSpaceCredentials): AccountLimit {
  const { requests, windowMs } = creds.rateLimit ?? DEFAULT_RATE_LIMIT;
  return { key: `${SYSTEM}:${creds.id}`, requests, windowMs };
}

function baseOf(creds: ThingSpaceCredentials): string {
  return creds.baseUrl.replace(/\/+$/, '');
}

function requiredString(res: HttpResponse<unknown>, field: string): string {
  const value = isRecord(res.body) ? res.body[field] : undefined;
  if (typeof value !== 'string' || value === '') throw unexpected(`answer without ${field}`, res);
  return value;
}

function unexpected(what: string, res: HttpResponse<unknown>): PermanentError {
  return new PermanentError(`${SYSTEM}: unexpected answer: ${what}`, {
    system: SYSTEM,
    status: res.status,
    exchange: res.exchange,
  });
}

function firstOf(value: unknown): unknown {
  return Array.isArray(value) ? (value as unknown[])[0] : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
