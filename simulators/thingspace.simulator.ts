import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { registerSimControl } from './sim-control.ts';
import { m2mGuard, registerAuthRoutes } from './thingspace/auth.routes.ts';
import { registerM2mRoutes } from './thingspace/m2m.routes.ts';
import { createPlanChangeProcessor } from './thingspace/plan-changes.ts';
import { createThingSpaceState, TS_ERRORS, type DeviceSeed, type SimUser } from './thingspace/state.ts';
import { errorBodyFor, isRecord, tsError } from './thingspace/wire.ts';

/**
 * Verizon ThingSpace Connectivity Management, simulated: base URL `http://127.0.0.1:PORT/api`.
 *
 * Scenarios chosen by data (ICCID suffix):
 *   …0429  the first plan change for that ICCID answers 429 with `Retry-After: 1`; later ones pass
 *   …0500  every plan change answers 500 `UnifiedWebService.REQUEST_FAILED.UnexpectedError`
 *   …0404  the device does not exist: plan change → 400 `…DeviceNotFound`, list → no devices
 * Asynchronous plan-change outcomes (callback and status poll), `faultResponse.faultcode`:
 *   `ServicePlanChange.DeviceNotActive`      device state is not `active` (e.g. `suspend`)
 *   `ServicePlanChange.MonthlyLimitReached`  the device already had 4 plan changes this month
 *   `ServicePlanChange.InvalidServicePlan`   `knownPlans` is set and does not include the plan
 * Synchronous errors (400 `{ errorCode, errorMessage }`), see `TS_ERRORS`:
 *   `…REQUEST_FAILED.InvalidCredentials`     wrong username/password at session login
 *   `…REQUEST_FAILED.AccountLocked`          after 5 failed logins in a row (until reset)
 *   `…REQUEST_FAILED.SessionToken.Expired`   session idle longer than `sessionIdleMs`
 *   `…INPUT_INVALID.SessionToken.Invalid`    missing or unknown `VZ-M2M-Token`
 * Bad app key/secret, or an expired/unknown bearer token: 401 `{ fault: { code: "900901" } }`.
 *
 * `GET /m2m/v1/plans/{accountName}` lists `servicePlans` as `[{ name, code, isActive,
 * carrierServicePlanCode }]`.
 *
 * Control routes: those of `sim-control.ts`, plus `POST /__sim/devices` (array of devices to add
 * or replace), `GET /__sim/state` (devices, plan-change requests, callbacks, deliveries) and
 * `POST /__sim/plan-changes` (`{ settle: "never" }`: requests stay Pending, no callback; `"now"`:
 * every Pending request settles at once, callbacks delivered, and later ones settle as usual).
 */

export interface ThingSpaceSimulatorOptions {
  /** Default `sim-app-key` / `sim-app-secret`. */
  appKey?: string;
  appSecret?: string;
  /** Default one user `sim-user` / `sim-password`. */
  users?: SimUser[];
  devices?: DeviceSeed[];
  /** Any unknown ICCID is an active device of this account (for the demo fleet). */
  autoCreateAccount?: string;
  /** Access-token lifetime; `expires_in` is this rounded up to seconds. Default 3,600,000. */
  tokenLifetimeMs?: number;
  /** Session idle timeout. Default 20 minutes. */
  sessionIdleMs?: number;
  /** Delay before a plan change settles. Default 200 ms. */
  asyncDelayMs?: number;
  /** When set, plan codes outside this list fail asynchronously. Default: every plan is accepted. */
  knownPlans?: string[];
  /**
   * What `GET /m2m/v1/plans/{accountName}` lists. Default: `knownPlans` (named by their codes), else
   * a small M2M catalogue.
   */
  servicePlans?: ThingSpaceSimPlan[];
  /** Requests allowed per window over all `/api` calls; beyond it 429 + `Retry-After`. Default none. */
  rateLimit?: { requests: number; windowMs: number };
  /** Timeout of one callback delivery. Default 2,000 ms. */
  callbackTimeoutMs?: number;
}

/** A service plan as the plan list answers it. */
export interface ThingSpaceSimPlan {
  name: string;
  code: string;
  isActive?: boolean;
  carrierServicePlanCode?: string;
}

const DEFAULT_SERVICE_PLANS = ['M2M-1GB-SHR', 'M2M-5GB-SHR', 'M2M-UNL'];

export function buildThingSpaceSimulator(options: ThingSpaceSimulatorOptions = {}): FastifyInstance {
  const app = Fastify({ logger: false });
  const tokenLifetimeMs = options.tokenLifetimeMs ?? 3_600_000;
  const state = createThingSpaceState({
    appKey: options.appKey ?? 'sim-app-key',
    appSecret: options.appSecret ?? 'sim-app-secret',
    users: options.users ?? [{ username: 'sim-user', password: 'sim-password' }],
    devices: options.devices ?? [],
    tokenLifetimeMs,
    sessionIdleMs: options.sessionIdleMs ?? 20 * 60_000,
    autoCreateAccount: options.autoCreateAccount,
  });
  const planChanges = createPlanChangeProcessor(state, {
    asyncDelayMs: options.asyncDelayMs ?? 200,
    knownPlans: options.knownPlans,
    callbackTimeoutMs: options.callbackTimeoutMs ?? 2_000,
  });

  // Hook order matters: sim-control records the request and applies injected faults first, then
  // the rate limit, then the token checks, so every refused call still shows in /__sim/requests.
  registerSimControl(app, {
    errorBody: errorBodyFor,
    onReset: () => {
      planChanges.stop();
      state.reset();
    },
  });
  if (options.rateLimit) app.addHook('preHandler', rateLimiter(options.rateLimit));
  app.addHook('preHandler', m2mGuard(state));
  app.addHook('onClose', (_instance, done) => {
    planChanges.stop();
    done();
  });

  registerAuthRoutes(app, state, tokenLifetimeMs);
  registerM2mRoutes(app, state, planChanges);

  // The account's service plans: the same list for every account the simulator serves.
  const servicePlans = (
    options.servicePlans ??
    (options.knownPlans ?? DEFAULT_SERVICE_PLANS).map((code) => ({ name: code, code }))
  ).map((plan) => ({ isActive: true, carrierServicePlanCode: plan.code, ...plan }));
  app.get('/api/m2m/v1/plans/:accountName', async () => servicePlans);

  app.post('/__sim/devices', async (request, reply) => {
    const body = request.body;
    if (!Array.isArray(body) || !body.every(isDeviceSeed)) {
      return tsError(
        reply,
        400,
        TS_ERRORS.invalidInput,
        'expected an array of { accountName, iccid, servicePlan }',
      );
    }
    state.seedDevices(body);
    return { ok: true, count: body.length };
  });

  app.get('/__sim/state', () => state.snapshot());

  /**
   * `{ "settle": "never" }`: plan changes stay Pending with no callback; `"auto"` (default) again;
   * `"now"`: the Pending ones settle at once (as they would have), then `"auto"`.
   */
  app.post('/__sim/plan-changes', async (request, reply) => {
    const settle = isRecord(request.body) ? request.body.settle : undefined;
    if (settle !== 'auto' && settle !== 'never' && settle !== 'now') {
      return tsError(reply, 400, TS_ERRORS.invalidInput, 'expected { "settle": "auto" | "never" | "now" }');
    }
    if (settle === 'now') {
      planChanges.setSettling('auto');
      return { ok: true, settle, settled: planChanges.settlePending() };
    }
    planChanges.setSettling(settle);
    return { ok: true, settle };
  });

  return app;
}

/** A fixed window over all `/api` calls: ThingSpace publishes no number, so the limit is inferred. */
function rateLimiter(limit: { requests: number; windowMs: number }) {
  let windowStart = 0;
  let used = 0;
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.url.startsWith('/api/')) return undefined;
    const now = Date.now();
    if (now - windowStart >= limit.windowMs) {
      windowStart = now;
      used = 0;
    }
    used += 1;
    if (used <= limit.requests) return undefined;
    const waitSeconds = Math.max(1, Math.ceil((windowStart + limit.windowMs - now) / 1000));
    reply.header('retry-after', String(waitSeconds));
    return tsError(reply, 429, TS_ERRORS.tooManyRequests, 'Too many requests.');
  };
}

function isDeviceSeed(value: unknown): value is DeviceSeed {
  return (
    isRecord(value) &&
    typeof value.accountName === 'string' &&
    typeof value.iccid === 'string' &&
    typeof value.servicePlan === 'string'
  );
}
