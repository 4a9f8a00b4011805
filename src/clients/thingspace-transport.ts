import { PermanentError, isIntegrationError, type Exchange } from '../errors.ts';
import { basicAuth, send, type CallObserver, type HttpRequest, type HttpResponse } from './http-client.ts';
import type { AccountLimit, RateGate } from './rate-gate.ts';

/**
 * Verizon ThingSpace Connectivity Management (M2M). Two tokens guard every call: an OAuth token
 * (`/ts/v1/oauth2/token`, cached until shortly before `expires_in`) and an M2M session
 * (`/m2m/v1/session/login`, idle-expiring, with no expiry announced). The session is renewed only
 * when a call is refused with a `…SessionToken.*` code (`Expired` after idling, `Invalid` when the
 * service no longer knows it), then the call is retried once; a 401 fault drops the OAuth token
 * the same way. ThingSpace locks an account after 5 failed logins in a row, so this client stops
 * at 4 and refuses further attempts until one succeeds or the process restarts. This module is that
 * machinery; thingspace.client.ts and thingspace-catalogue.client.ts make their calls through it.
 */

const SYSTEM = 'thingspace';
const DEFAULT_RATE_LIMIT = { requests: 10, windowMs: 1_000 };
const MAX_FAILED_LOGINS = 4;
const TOKEN_REFRESH_MARGIN_MS = 60_000;
const ACCOUNT_LOCKED = /\.AccountLocked$/;
const SESSION_REFUSED = /\.SessionToken\./;

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

export interface ThingSpaceClientDeps {
  gate: RateGate;
  timeoutMs: number;
  now?: () => number;
  /** Sees every exchange (redacted), including token fetches, logins and refused attempts. */
  onExchange?: (exchange: Exchange) => void;
  observe?: CallObserver;
}

/** `operation`: the path's pattern (`:account` for the account name …), never an id. */
export type M2mRequest = Pick<HttpRequest, 'method' | 'body' | 'operation'> & { path: string };

/** One M2M call with both tokens; each kind of token refusal is healed and retried at most once. */
export type M2mCall = <T>(creds: ThingSpaceCredentials, req: M2mRequest) => Promise<HttpResponse<T>>;

export function createThingSpaceTransport(deps: ThingSpaceClientDeps): M2mCall {
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

  return m2m;
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

export function requiredString(res: HttpResponse<unknown>, field: string): string {
  const value = isRecord(res.body) ? res.body[field] : undefined;
  if (typeof value !== 'string' || value === '') throw unexpected(`answer without ${field}`, res);
  return value;
}

export function unexpected(what: string, res: HttpResponse<unknown>): PermanentError {
  return new PermanentError(`${SYSTEM}: unexpected answer: ${what}`, {
    system: SYSTEM,
    status: res.status,
    exchange: res.exchange,
  });
}

export function firstOf(value: unknown): unknown {
  return Array.isArray(value) ? (value as unknown[])[0] : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
