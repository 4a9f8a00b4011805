import { createHmac, timingSafeEqual } from 'node:crypto';
import { send } from './http-client.ts';

/**
 * Signed webhooks to the tenant's downstream systems. The body is sent as the exact string that was
 * signed (never re-serialised by the HTTP layer, which would drop nulls), so a receiver can verify
 * `X-Simbind-Signature` over the raw bytes it got. The secret only ever feeds the HMAC: it is not a
 * header, and not part of any error or exchange we record.
 */

const SYSTEM = 'webhook';
const SIGNATURE_PREFIX = 'sha256=';

export const WEBHOOK_HEADERS = {
  event: 'X-Simbind-Event',
  delivery: 'X-Simbind-Delivery',
  signature: 'X-Simbind-Signature',
} as const;

/** `sha256=<hex HMAC-SHA256 of body with secret>`, the value of `X-Simbind-Signature`. */
export function signPayload(secret: string, body: string | Buffer): string {
  return SIGNATURE_PREFIX + createHmac('sha256', secret).update(body).digest('hex');
}

/** For receivers: does `header` sign exactly these body bytes with this secret? Constant-time. */
export function verifySignature(secret: string, body: string | Buffer, header: string | undefined): boolean {
  if (header === undefined || !header.startsWith(SIGNATURE_PREFIX)) return false;
  const given = Buffer.from(header.slice(SIGNATURE_PREFIX.length), 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  // A non-hex or short header decodes to fewer bytes; timingSafeEqual needs equal lengths.
  return given.length === expected.length && timingSafeEqual(given, expected);
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
}

export interface WebhookClient {
  /** Resolves on 2xx; throws `RetryableError` (network, timeout, 408, 429, 5xx) or `PermanentError`. */
  post(message: WebhookMessage): Promise<WebhookResult>;
}

export function createWebhookClient(deps: { timeoutMs: number }): WebhookClient {
  return {
    async post(message) {
      const response = await send({
        system: SYSTEM,
        method: 'POST',
        url: message.url,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'simbind-webhooks',
          [WEBHOOK_HEADERS.event]: message.event,
          [WEBHOOK_HEADERS.delivery]: String(message.deliveryId),
          [WEBHOOK_HEADERS.signature]: signPayload(message.secret, message.body),
        },
        body: message.body,
        timeoutMs: deps.timeoutMs,
      });
      return { status: response.status, durationMs: response.exchange.durationMs };
    },
  };
}
