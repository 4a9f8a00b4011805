import { randomUUID } from 'node:crypto';

/**
 * The ThingSpace simulator's in-memory world: credentials, tokens, sessions, devices, asynchronous
 * plan-change requests, registered callbacks and what was delivered to them. Routes read and write
 * it; `reset()` puts it back to what the options seeded.
 */

/** Error codes the simulator answers with; the client keys its behaviour on some of them. */
export const TS_ERRORS = {
  invalidCredentials: 'UnifiedWebService.REQUEST_FAILED.InvalidCredentials',
  accountLocked: 'UnifiedWebService.REQUEST_FAILED.AccountLocked',
  /** A session that existed and went idle for longer than `sessionIdleMs`. */
  sessionExpired: 'UnifiedWebService.REQUEST_FAILED.SessionToken.Expired',
  /** A missing or never-issued `VZ-M2M-Token` (also what a reset leaves behind). */
  sessionInvalid: 'UnifiedWebService.INPUT_INVALID.SessionToken.Invalid',
  deviceNotFound: 'UnifiedWebService.REQUEST_FAILED.DeviceNotFound',
  requestNotFound: 'UnifiedWebService.REQUEST_FAILED.RequestNotFound',
  invalidInput: 'UnifiedWebService.INPUT_INVALID.RequestBody',
  tooManyRequests: 'UnifiedWebService.REQUEST_FAILED.TooManyRequests',
  unexpected: 'UnifiedWebService.REQUEST_FAILED.UnexpectedError',
} as const;

/** `faultcode`s of a failed asynchronous plan change (callback and status poll). */
export const TS_FAULTS = {
  deviceNotActive: 'ServicePlanChange.DeviceNotActive',
  monthlyLimit: 'ServicePlanChange.MonthlyLimitReached',
  unknownPlan: 'ServicePlanChange.InvalidServicePlan',
} as const;

/** The OAuth gateway's answer to a bad app key/secret or an expired/unknown bearer token. */
export const INVALID_CREDENTIALS_FAULT = { fault: { code: '900901', message: 'Invalid Credentials' } };

export const MAX_PLAN_CHANGES_PER_MONTH = 4;
export const FAILED_LOGINS_BEFORE_LOCK = 5;

export type DeviceState = 'active' | 'suspend' | 'deactive' | 'preactive' | 'pending resume';

export interface SimDevice {
  accountName: string;
  iccid: string;
  imei?: string;
  mdn?: string;
  servicePlan: string;
  state: DeviceState;
  planChangesThisMonth: number;
  /** A plan change accepted with a later `takeEffect`: it replaces `servicePlan` on that day. */
  scheduledPlan?: { servicePlan: string; takeEffect: string };
}

/** A scheduled plan whose day has come takes effect the first time the device is looked at. */
export function applyDuePlan(device: SimDevice, today = new Date().toISOString().slice(0, 10)): SimDevice {
  if (device.scheduledPlan && device.scheduledPlan.takeEffect.slice(0, 10) <= today) {
    device.servicePlan = device.scheduledPlan.servicePlan;
    delete device.scheduledPlan;
  }
  return device;
}

export type DeviceSeed = Omit<SimDevice, 'planChangesThisMonth' | 'state'> &
  Partial<Pick<SimDevice, 'planChangesThisMonth' | 'state'>>;

export interface DeviceId {
  kind: string;
  id: string;
}

export interface FaultResponse {
  faultcode: string;
  faultstring: string;
}

export type RequestStatus = 'Pending' | 'Success' | 'Failed';

export interface SimPlanChange {
  requestId: string;
  accountName: string;
  deviceIds: DeviceId[][];
  iccids: string[];
  servicePlan: string;
  takeEffect: string | undefined;
  status: RequestStatus;
  faultResponse: FaultResponse | undefined;
  createdAt: string;
  resolvedAt: string | undefined;
}

export interface CallbackDelivery {
  requestId: string;
  url: string;
  /** The receiver's HTTP status, when it answered. */
  status: number | undefined;
  error: string | undefined;
  at: string;
}

export interface SimUser {
  username: string;
  password: string;
}

interface Session {
  username: string;
  lastUsedAt: number;
}

export type SessionCheck = 'ok' | 'expired' | 'invalid';

export interface ThingSpaceStateOptions {
  appKey: string;
  appSecret: string;
  users: SimUser[];
  devices: DeviceSeed[];
  tokenLifetimeMs: number;
  sessionIdleMs: number;
  /**
   * Treat any unknown 19–20 digit ICCID as an active device of this account (the demo fleet is in
   * simbind's database, not here). Absent: only seeded devices exist.
   */
  autoCreateAccount?: string;
}

export function createThingSpaceState(options: ThingSpaceStateOptions) {
  const accessTokens = new Map<string, number>(); // token → expires at (ms)
  const sessions = new Map<string, Session>();
  const failedLogins = new Map<string, number>(); // username → consecutive failures
  const devices = new Map<string, SimDevice>();
  const requests = new Map<string, SimPlanChange>();
  const callbacks = new Map<string, string>(); // `${accountName}\n${name}` → url
  const deliveries: CallbackDelivery[] = [];
  const throttledOnce = new Set<string>();
  /** Every device by ICCID, for the inventory's pages; dropped when a device is added. */
  let byIccid: SimDevice[] | undefined;

  const seed = (seeds: DeviceSeed[]) => {
    byIccid = undefined;
    for (const s of seeds) {
      devices.set(s.iccid, {
        ...s,
        state: s.state ?? 'active',
        planChangesThisMonth: s.planChangesThisMonth ?? 0,
      });
    }
  };
  seed(options.devices);

  return {
    seedDevices: seed,

    issueAccessToken(appKey: string, appSecret: string): string | undefined {
      if (appKey !== options.appKey || appSecret !== options.appSecret) return undefined;
      const token = randomUUID();
      accessTokens.set(token, Date.now() + options.tokenLifetimeMs);
      return token;
    },

    isAccessTokenValid(token: string): boolean {
      const expiresAt = accessTokens.get(token);
      if (expiresAt === undefined) return false;
      if (expiresAt > Date.now()) return true;
      accessTokens.delete(token);
      return false;
    },

    /** Five wrong passwords in a row lock the user until reset; a good one clears the count. */
    login(
      username: string,
      password: string,
    ): { sessionToken: string } | { errorCode: string; errorMessage: string } {
      const failures = failedLogins.get(username) ?? 0;
      if (failures >= FAILED_LOGINS_BEFORE_LOCK) {
        return { errorCode: TS_ERRORS.accountLocked, errorMessage: 'The user account is locked.' };
      }
      const user = options.users.find((u) => u.username === username);
      if (!user || user.password !== password) {
        failedLogins.set(username, failures + 1);
        return { errorCode: TS_ERRORS.invalidCredentials, errorMessage: 'Invalid username or password.' };
      }
      failedLogins.delete(username);
      const sessionToken = randomUUID();
      sessions.set(sessionToken, { username, lastUsedAt: Date.now() });
      return { sessionToken };
    },

    /** Using a live session restarts its idle clock, as on the real service. */
    touchSession(token: string | undefined): SessionCheck {
      const session = token === undefined ? undefined : sessions.get(token);
      if (!session) return 'invalid';
      const now = Date.now();
      if (now - session.lastUsedAt > options.sessionIdleMs) return 'expired';
      session.lastUsedAt = now;
      return 'ok';
    },

    findDevice(id: DeviceId): SimDevice | undefined {
      if (id.id.endsWith('0404')) return undefined;
      const kind = id.kind.toLowerCase();
      if (kind === 'iccid') {
        const known = devices.get(id.id);
        if (known || !options.autoCreateAccount || !/^\d{19,20}$/.test(id.id)) return known;
        const created: SimDevice = {
          accountName: options.autoCreateAccount,
          iccid: id.id,
          servicePlan: 'M2M-1GB-SHR',
          state: 'active',
          planChangesThisMonth: 0,
        };
        devices.set(id.id, created);
        byIccid = undefined;
        return created;
      }
      for (const device of devices.values()) {
        if (
          (kind === 'imei' && device.imei === id.id) ||
          ((kind === 'mdn' || kind === 'msisdn') && device.mdn === id.id)
        ) {
          return device;
        }
      }
      return undefined;
    },

    /** True the first time an ICCID is seen: the `…0429` scenario throttles only the first change. */
    firstThrottle(iccid: string): boolean {
      if (throttledOnce.has(iccid)) return false;
      throttledOnce.add(iccid);
      return true;
    },

    addRequest(request: SimPlanChange): void {
      requests.set(request.requestId, request);
    },
    findRequest: (requestId: string) => requests.get(requestId),
    device: (iccid: string) => devices.get(iccid),

    /**
     * One page of an account's inventory, by ICCID: the devices after `afterIccid` (paging by the
     * last device seen, as ThingSpace does), and whether more follow. Sorted once per change of the
     * fleet, not per page: a 100,000-device walk is 200 pages of 500.
     */
    inventory(accountName: string, afterIccid: string | undefined, size: number) {
      byIccid ??= [...devices.values()].sort((a, b) => (a.iccid < b.iccid ? -1 : a.iccid > b.iccid ? 1 : 0));
      const all = byIccid;
      let low = 0;
      let high = all.length;
      while (afterIccid !== undefined && low < high) {
        const mid = (low + high) >> 1;
        if (all[mid]!.iccid <= afterIccid) low = mid + 1;
        else high = mid;
      }
      const page: SimDevice[] = [];
      let i = low;
      for (; i < all.length && page.length < size; i++) {
        if (all[i]!.accountName === accountName) page.push(all[i]!);
      }
      while (i < all.length && all[i]!.accountName !== accountName) i++;
      return { devices: page, hasMoreData: i < all.length };
    },

    registerCallback(accountName: string, name: string, url: string): void {
      callbacks.set(`${accountName}\n${name}`, url);
    },
    callbackUrl: (accountName: string, name: string) => callbacks.get(`${accountName}\n${name}`),
    recordDelivery(delivery: CallbackDelivery): void {
      deliveries.push(delivery);
    },

    snapshot() {
      return {
        devices: [...devices.values()],
        requests: [...requests.values()],
        callbacks: [...callbacks].map(([key, url]) => {
          const [accountName, name] = key.split('\n');
          return { accountName, name, url };
        }),
        deliveries,
        failedLogins: Object.fromEntries(failedLogins),
      };
    },

    /** Back to the seeded world: the option devices as given, nothing issued, nothing pending. */
    reset(): void {
      accessTokens.clear();
      sessions.clear();
      failedLogins.clear();
      requests.clear();
      callbacks.clear();
      deliveries.length = 0;
      throttledOnce.clear();
      devices.clear();
      seed(options.devices);
    },
  };
}

export type ThingSpaceState = ReturnType<typeof createThingSpaceState>;
