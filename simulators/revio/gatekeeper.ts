import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError, sendThrottled } from './wire.ts';

/**
 * What Rev.io's API gateway does before a request reaches the API: credentials, the per-account
 * rolling rate limit and the daily quota. Keyed by `username@clientCode`, the account Rev.io limits.
 */

export interface RevioSimAccount {
  username: string;
  clientCode: string;
  password: string;
  subscriptionKey: string;
}

export interface GatekeeperLimits {
  requestsPerWindow: number;
  windowMs: number;
  dailyQuota: number;
}

export class Gatekeeper {
  /** Accepted request times per account, oldest first, within the rolling window. */
  private windows = new Map<string, number[]>();
  private daily = new Map<string, { day: string; used: number }>();

  constructor(
    private readonly accounts: RevioSimAccount[],
    private readonly limits: GatekeeperLimits,
  ) {}

  reset(): void {
    this.windows.clear();
    this.daily.clear();
  }

  /** Answers the request itself (401/403/429) when it must not go through; `undefined` otherwise. */
  check(request: FastifyRequest, reply: FastifyReply): FastifyReply | undefined {
    const account = this.authenticate(request);
    if (typeof account === 'string') return sendError(reply, 401, account);
    const key = `${account.username}@${account.clientCode}`;
    const now = Date.now();

    const today = new Date(now).toISOString().slice(0, 10);
    let quota = this.daily.get(key);
    if (!quota || quota.day !== today) {
      quota = { day: today, used: 0 };
      this.daily.set(key, quota);
    }
    if (quota.used >= this.limits.dailyQuota) {
      return sendError(reply, 403, 'Out of call volume quota. Quota will be replenished at midnight UTC.');
    }

    const times = this.windows.get(key) ?? [];
    while (times.length > 0 && times[0]! <= now - this.limits.windowMs) times.shift();
    if (times.length >= this.limits.requestsPerWindow) {
      const waitMs = times[0]! + this.limits.windowMs - now;
      return sendThrottled(reply, Math.max(1, Math.ceil(waitMs / 1000)));
    }
    // Refused requests spend neither budget, so a client that honours Retry-After gets through.
    times.push(now);
    this.windows.set(key, times);
    quota.used += 1;
    return undefined;
  }

  /** The matching account, or why the request is refused. */
  private authenticate(request: FastifyRequest): RevioSimAccount | string {
    const key = request.headers['ocp-apim-subscription-key'];
    if (typeof key !== 'string' || key === '') {
      return 'Access denied due to missing subscription key. Include Ocp-Apim-Subscription-Key.';
    }
    const header = request.headers.authorization ?? '';
    if (!header.startsWith('Basic ')) return 'Missing Basic credentials.';
    const decoded = Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8');
    // RFC 7617: the user-id cannot contain ':', the password can; a username may itself contain '@'.
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? decoded : decoded.slice(0, colon);
    const password = colon < 0 ? '' : decoded.slice(colon + 1);
    const at = user.lastIndexOf('@');
    if (at < 0) return 'Credentials must be username@clientCode:password.';
    const username = user.slice(0, at);
    const clientCode = user.slice(at + 1);
    const account = this.accounts.find(
      (a) => a.username === username && a.clientCode === clientCode && a.password === password,
    );
    if (!account) return 'Invalid username, client code or password.';
    if (account.subscriptionKey !== key) return 'Access denied due to invalid subscription key.';
    return account;
  }
}
