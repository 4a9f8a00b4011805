import { Agent, request, type Dispatcher } from 'undici';
import { PermanentError, RetryableError, type Exchange } from '../errors.ts';
import { redact, redactHeaders, secretValues } from './redact.ts';

// The mail client redacts its SMTP URL with the same marker.
export { REDACTED } from './redact.ts';

/**
 * The one place that speaks HTTP to external systems. Every client (Rev.io, ThingSpace, Jasper,
 * webhooks) goes through `send`, so that timeouts, keep-alive, the Retryable/Permanent mapping and
 * the redaction of secrets in what we record are the same everywhere.
 */

/** Keep-alive pool shared by all clients: a bulk change makes thousands of calls to the same hosts. */
const newAgent = () => new Agent({ keepAliveTimeout: 30_000, connections: 64, pipelining: 1 });
let sharedAgent = newAgent();

/** How much of a remote error body an error message quotes. */
const MESSAGE_BODY_CHARS = 300;

export interface HttpRequest {
  /** `revio`, `thingspace`, `jasper`, `webhook`: names the system in errors and logs. */
  system: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  url: string;
  headers?: Record<string, string>;
  /** Sent as JSON when an object; as-is when a string (form bodies). */
  body?: unknown;
  timeoutMs: number;
  /**
   * The limit a timeout is reported against, when this request had only what was left of a
   * longer one (a webhook's redirects share one limit): the operator set that one.
   */
  reportedTimeoutMs?: number;
  /** Pulls the remote system's code and message out of an error body. */
  describeError?: (status: number, body: unknown, text: string) => { code?: string; message?: string };
  /** Another connection pool (the webhooks' guarded one); default: the shared keep-alive pool. */
  dispatcher?: Dispatcher;
  /** 3xx answers resolve instead of failing: the caller checks where a redirect leads before following it. */
  returnRedirects?: boolean;
  /** Names the call in metrics (`createService`, `changeServicePlan` …): a fixed name, never an id. */
  operation?: string;
  /** Sees every call once it ended (metrics.ts counts them and their latency). */
  observe?: CallObserver;
}

/** How a call ended, for metrics: a handful of values, whatever the remote system answered. */
export type CallOutcome =
  'ok' | 'redirect' | 'client_error' | 'throttled' | 'server_error' | 'timeout' | 'network_error';

export interface CallObservation {
  system: string;
  operation: string;
  outcome: CallOutcome;
  /** The HTTP status, when an answer came. */
  status?: number;
  seconds: number;
}

export type CallObserver = (call: CallObservation) => void;

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON, or `undefined` when the body was empty or not JSON. */
  body: T;
  text: string;
  exchange: Exchange;
}

/**
 * Sends one request. Resolves with 2xx answers; throws `RetryableError` for network errors,
 * timeouts, 408, 429 and 5xx (with `retryAfterMs` from `Retry-After`), and `PermanentError` for
 * other non-2xx answers, each carrying the redacted exchange. Redirects are never followed (undici's
 * `request` does not): a 3xx is a `PermanentError`, or an answer with `returnRedirects`.
 */
export async function send<T = unknown>(req: HttpRequest): Promise<HttpResponse<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  let payload: string | undefined;
  if (typeof req.body === 'string') {
    payload = req.body;
  } else if (req.body !== undefined) {
    payload = JSON.stringify(req.body, (_key, value: unknown) => (value === null ? undefined : value));
    headers['content-type'] ??= 'application/json';
  }

  // What this request sends that is secret, scrubbed from everything recorded: an answer that
  // echoes our subscription key or password in a sentence has no field name to go by.
  const known = secretValues({ url: req.url, headers, body: payload });
  const started = performance.now();
  const exchange: Exchange = {
    system: req.system,
    method: req.method,
    url: redact(req.url, known),
    requestHeaders: redactHeaders(headers, known),
    requestBody: payload === undefined ? undefined : redact(payload, known),
    status: undefined,
    responseBody: undefined,
    durationMs: 0,
  };

  let status: number;
  let responseHeaders: Record<string, string>;
  let text: string;
  try {
    const res = await request(req.url, {
      method: req.method,
      headers,
      body: payload,
      dispatcher: req.dispatcher ?? sharedAgent,
      signal: AbortSignal.timeout(req.timeoutMs),
    });
    status = res.statusCode;
    responseHeaders = flattenHeaders(res.headers);
    text = await res.body.text();
  } catch (cause) {
    exchange.durationMs = Math.round(performance.now() - started);
    observe(req, started, isTimeout(cause) ? 'timeout' : 'network_error', undefined);
    const reason = redact(describeNetworkError(cause, req.reportedTimeoutMs ?? req.timeoutMs), known);
    throw new RetryableError(`${req.system}: ${reason}`, { system: req.system, exchange, cause });
  }

  exchange.durationMs = Math.round(performance.now() - started);
  exchange.status = status;
  exchange.responseBody = redact(text, known);
  const body = parseJson(text) as T;

  observe(req, started, outcomeOf(status), status);
  if ((status >= 200 && status < 300) || (req.returnRedirects === true && status >= 300 && status < 400)) {
    return { status, headers: responseHeaders, body, text, exchange };
  }

  const described = req.describeError?.(status, body, text) ?? {};
  // The raw body is redacted before it is cut, so a secret cannot escape by being cut in two.
  const remote =
    described.message !== undefined
      ? redact(described.message, known)
      : redact(text, known).slice(0, MESSAGE_BODY_CHARS) || 'no body';
  const message = `${req.system} ${status}: ${remote}`;
  const init = { system: req.system, status, remoteCode: described.code, exchange };
  if (status === 408 || status === 429 || status >= 500) {
    throw new RetryableError(message, {
      ...init,
      retryAfterMs: parseRetryAfter(responseHeaders['retry-after']),
    });
  }
  throw new PermanentError(message, init);
}

function observe(req: HttpRequest, started: number, outcome: CallOutcome, status: number | undefined) {
  req.observe?.({
    system: req.system,
    operation: req.operation ?? 'other',
    outcome,
    status,
    seconds: (performance.now() - started) / 1000,
  });
}

function outcomeOf(status: number): CallOutcome {
  if (status >= 200 && status < 300) return 'ok';
  if (status >= 300 && status < 400) return 'redirect';
  if (status === 429) return 'throttled';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'server_error';
  return 'client_error';
}

function isTimeout(cause: unknown): boolean {
  return cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
}

function flattenHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `Retry-After` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function describeNetworkError(cause: unknown, timeoutMs: number): string {
  if (cause instanceof Error) {
    if (isTimeout(cause)) return `timed out after ${timeoutMs} ms`;
    const code = (cause as { code?: string }).code;
    return code ? `${code}: ${cause.message}` : cause.message;
  }
  return String(cause);
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/**
 * Lets tests and shutdown close idle keep-alive sockets. Calls made afterwards get a new pool: a
 * closed one refuses every request (`npm run bench` ran the sync benchmark after the rate gate's,
 * in one process, and every call of the second failed with "The client is destroyed").
 */
export async function closeHttpAgent(): Promise<void> {
  const closing = sharedAgent;
  sharedAgent = newAgent();
  await closing.close();
}

/** A client call's value together with the redacted exchange, for the change log. */
export interface Call<T> {
  value: T;
  exchange: Exchange;
}
