import { createHmac, timingSafeEqual } from 'node:crypto';
import { Agent } from 'undici';
import { PermanentError, RetryableError } from '../errors.ts';
import { send, type CallObserver } from './http-client.ts';
import { createOutboundGuard, type Resolve } from './outbound-guard.ts';

/**
 * Signed webhooks to the tenant's downstream systems. The body is sent as the exact string that was
 * signed (never re-serialised by the HTTP layer, which would drop nulls), so a receiver can verify
 * `X-Simbind-Signature` over the raw bytes it got. The secret only ever feeds the HMAC: it is not a
 * header, and not part of any error or exchange we record.
 *
 * The signature covers a timestamp too (`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`), so
 * a receiver refuses a replayed delivery older than its tolerance. Deliveries go only where the
 * outbound guard allows (no loopback, private, link-local or metadata address unless configured),
 * redirects included: they are followed here, each `Location` checked first.
 */

const SYSTEM = 'webhook';
/** How old a signature a receiver should accept by default. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export const WEBHOOK_HEADERS = {
  event: 'X-Simbind-Event',
  delivery: 'X-Simbind-Delivery',
  signature: 'X-Simbind-Signature',
} as const;

const hmac = (secret: string, timestamp: number, body: string | Buffer) =>
  createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, the value of `X-Simbind-Signature`. */
export function signPayload(
  secret: string,
  body: string | Buffer,
  timestamp = Math.floor(Date.now() / 1000),
): string {
  return `t=${timestamp},v1=${hmac(secret, timestamp, body).toString('hex')}`;
}

/**
 * For receivers: does `header` sign exactly these body bytes with this secret, at a time within
 * `toleranceSeconds` of `now` (unix seconds)? Constant-time on the signature; a replay past the
 * tolerance fails, and so does a moved timestamp, which is signed too.
 */
export function verifySignature(
  secret: string,
  body: string | Buffer,
  header: string | undefined,
  options: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  const match = header === undefined ? null : /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header);
  if (!match) return false;
  const timestamp = Number(match[1]);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? SIGNATURE_TOLERANCE_SECONDS)) return false;
  const given = Buffer.from(match[2]!, 'hex');
  return timingSafeEqual(given, hmac(secret, timestamp, body));
}

export interface WebhookMessage {
  url: string;
  secret: string;
  event: string;
  deliveryId: number;
  /** The JSON body, already serialised: these bytes are signed and sent. */
  body: string;
}

export interface WebhookResult {
  status: number;
  durationMs: number;
  /** The beginning of the receiver's answer, for the delivery log. */
  response: string | null;
}

/** How much of a receiver's answer the delivery log keeps. */
export const RESPONSE_EXCERPT = 500;

export interface WebhookClient {
  /** Resolves on 2xx; throws `RetryableError` (network, timeout, 408, 429, 5xx) or `PermanentError`. */
  post(message: WebhookMessage): Promise<WebhookResult>;
}

export interface WebhookClientDeps {
  /** For the whole delivery, redirects included: the caller holds a row lock meanwhile. */
  timeoutMs: number;
  /** Non-public addresses endpoints may reach (`WEBHOOK_ALLOW_ADDRESSES`); default none. */
  allow?: Iterable<string>;
  /** Host name → addresses, for tests; default `dns.lookup`. */
  resolve?: Resolve;
  observe?: CallObserver;
}

/** Redirects a delivery follows, re-sending the same signed POST; other 3xx answers fail it. */
const FOLLOWED = new Set([301, 302, 307, 308]);
const MAX_REDIRECTS = 3;

export function createWebhookClient(deps: WebhookClientDeps): WebhookClient {
  const guard = createOutboundGuard({ allow: deps.allow ?? [], resolve: deps.resolve, system: SYSTEM });
  // Its own pool: every connection it opens resolves through the guard, so the address connected
  // to is the one checked (no DNS rebinding between check and connect).
  const dispatcher = new Agent({
    keepAliveTimeout: 30_000,
    connections: 16,
    connect: { lookup: guard.lookup },
  });

  async function sendOnce(url: string, headers: Record<string, string>, body: string, deadline: number) {
    try {
      return await send({
        dispatcher,
        returnRedirects: true,
        system: SYSTEM,
        // One name for every endpoint: its URL is the operator's (and may carry a secret).
        operation: 'POST :endpoint',
        observe: deps.observe,
        method: 'POST',
        url,
        headers,
        body,
        timeoutMs: Math.max(1, Math.round(deadline - performance.now())),
        reportedTimeoutMs: deps.timeoutMs,
      });
    } catch (error) {
      // The guard refused at connect time: the name resolved to a refused address after `check`.
      if (error instanceof RetryableError && error.cause instanceof PermanentError) {
        throw new PermanentError(error.cause.message, {
          system: SYSTEM,
          exchange: error.exchange,
          cause: error.cause,
        });
      }
      throw error;
    }
  }

  return {
    async post(message) {
      const deadline = performance.now() + deps.timeoutMs;
      // One timestamp per attempt: a retry is signed afresh, a redirect re-sends the same request.
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'simbind-webhooks',
        [WEBHOOK_HEADERS.event]: message.event,
        [WEBHOOK_HEADERS.delivery]: String(message.deliveryId),
        [WEBHOOK_HEADERS.signature]: signPayload(message.secret, message.body),
      };
      let url = message.url;
      let durationMs = 0;
      await guard.check(url);
      for (let redirects = 0; ; redirects++) {
        const response = await sendOnce(url, headers, message.body, deadline);
        const { status, exchange } = response;
        durationMs += exchange.durationMs;
        if (status < 300) {
          return { status, durationMs, response: exchange.responseBody?.slice(0, RESPONSE_EXCERPT) ?? null };
        }

        const fail = (reason: string, cause?: unknown) =>
          new PermanentError(`${SYSTEM} ${status}: ${reason}`, { system: SYSTEM, status, exchange, cause });
        if (!FOLLOWED.has(status)) throw fail('a redirect a webhook does not follow');
        if (redirects === MAX_REDIRECTS) throw fail(`more than ${MAX_REDIRECTS} redirects`);
        const location = response.headers.location;
        if (location === undefined) throw fail('a redirect without a Location');
        try {
          url = new URL(location, url).href;
        } catch {
          throw fail('a redirect to an invalid URL');
        }
        // Where the redirect leads is checked like the endpoint itself: a public endpoint must not
        // bounce a delivery into the private network.
        await guard.check(url).catch((error: unknown) => {
          throw error instanceof PermanentError
            ? fail(`redirect refused: ${error.message.replace(`${SYSTEM}: `, '')}`, error)
            : error;
        });
      }
    },
  };
}
