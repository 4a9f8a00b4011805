import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ERRORS } from './wire.ts';

/**
 * Control Center's per-account limits (defaults 1 in flight, 5 per rolling 1,000 ms): a request
 * arriving while another of the same account is in flight, or after 5 accepted ones within the last
 * second, answers 429 with `Retry-After`. Only accepted requests count toward the 5.
 */

export interface JasperSimAccount {
  username: string;
  apiKey: string;
}

export interface JasperSimAccountState {
  requests: number;
  inFlight: number;
  maxInFlight: number;
  throttled: { concurrency: number; rate: number };
  /** Epoch ms (sub-millisecond, monotonic clock) of accepted requests, newest last, capped. */
  acceptedAt: number[];
}

export type Verdict =
  { kind: 'unauthenticated' } | { kind: 'throttled'; retryAfterSeconds: number } | { kind: 'ok' };

const KEPT_TIMES = 1000;

export interface LimitState {
  accounts: JasperSimAccount[];
  limits: { requests: number; windowMs: number; concurrency: number };
  /** Per username; cleared by `/__sim/reset`. */
  usage: Map<string, JasperSimAccountState>;
  verdicts: WeakMap<FastifyRequest, Verdict>;
}

/**
 * Limits are decided on arrival, before faults and body parsing, as Control Center would; the
 * answer itself is sent by `answerRefusals` from `preHandler`, so that sim-control records the
 * refused request.
 */
export function decideOnArrival(app: FastifyInstance, state: LimitState): void {
  const { accounts, limits, usage, verdicts } = state;
  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/rws/')) return;
    const username = authenticate(request.headers.authorization, accounts);
    if (username === undefined) {
      verdicts.set(request, { kind: 'unauthenticated' });
      return;
    }
    const account = usage.get(username) ?? newAccountState();
    usage.set(username, account);
    account.requests += 1;
    account.inFlight += 1;
    account.maxInFlight = Math.max(account.maxInFlight, account.inFlight);
    reply.raw.once('close', () => {
      account.inFlight -= 1;
    });

    const now = performance.timeOrigin + performance.now();
    const windowStart = now - limits.windowMs;
    const recent = account.acceptedAt.filter((at) => at > windowStart);
    if (account.inFlight > limits.concurrency) {
      account.throttled.concurrency += 1;
      verdicts.set(request, { kind: 'throttled', retryAfterSeconds: 1 });
    } else if (recent.length >= limits.requests) {
      account.throttled.rate += 1;
      const freesAt = (recent[recent.length - limits.requests] ?? now) + limits.windowMs;
      verdicts.set(request, {
        kind: 'throttled',
        retryAfterSeconds: Math.max(1, Math.ceil((freesAt - now) / 1000)),
      });
    } else {
      account.acceptedAt.push(now);
      if (account.acceptedAt.length > KEPT_TIMES) account.acceptedAt.shift();
      verdicts.set(request, { kind: 'ok' });
    }
  });
}

/** Registered after sim-control, so that its `preHandler` records the request first. */
export function answerRefusals(app: FastifyInstance, verdicts: WeakMap<FastifyRequest, Verdict>): void {
  app.addHook('preHandler', async (request, reply) => {
    const verdict = verdicts.get(request);
    if (verdict?.kind === 'unauthenticated') return reply.code(401).send(ERRORS.credentials);
    if (verdict?.kind === 'throttled') {
      return reply.code(429).header('retry-after', String(verdict.retryAfterSeconds)).send(ERRORS.tooMany);
    }
    return undefined;
  });
}

function authenticate(header: string | undefined, accounts: JasperSimAccount[]): string | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const [username, apiKey] = [decoded.slice(0, colon), decoded.slice(colon + 1)];
  return accounts.find((a) => colon > 0 && a.username === username && a.apiKey === apiKey)?.username;
}

function newAccountState(): JasperSimAccountState {
  return { requests: 0, inFlight: 0, maxInFlight: 0, throttled: { concurrency: 0, rate: 0 }, acceptedAt: [] };
}
