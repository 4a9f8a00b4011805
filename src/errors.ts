/**
 * Domain errors. Services throw these; the HTTP error handler maps them to status codes, and the
 * worker maps `RetryableError` / `PermanentError` to the failure policy. Nothing here knows HTTP.
 */

export interface FieldProblem {
  /** JSON-pointer-ish path of the offending field, e.g. `/devices/3` or `/customerId`. */
  path: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly code: string;
  readonly details: unknown;

  constructor(message: string, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export class NotFoundError extends DomainError {
  readonly code = 'not_found';
}

export class ConflictError extends DomainError {
  readonly code = 'conflict';
}

export class InvalidInputError extends DomainError {
  readonly code = 'invalid_input';
  constructor(message: string, problems?: FieldProblem[]) {
    super(message, problems);
  }
}

/** Semantically invalid request (references that do not exist, rules that forbid it): 422. */
export class UnprocessableError extends DomainError {
  readonly code = 'unprocessable';
  constructor(message: string, problems?: FieldProblem[]) {
    super(message, problems);
  }
}

/**
 * A partner system could not give what a request needs right now (a catalogue read failed): 502.
 * The message names the system; nothing was changed.
 */
export class UpstreamError extends DomainError {
  readonly code = 'upstream_failed';
}

export class PayloadTooLargeError extends DomainError {
  readonly code = 'payload_too_large';
}

export class UnauthenticatedError extends DomainError {
  readonly code = 'unauthenticated';
}

export class ForbiddenError extends DomainError {
  readonly code = 'forbidden';
}

export class RateLimitedError extends DomainError {
  readonly code = 'rate_limited';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** One HTTP exchange with an external system, secrets already redacted, for the change log. */
export interface Exchange {
  /** `revio`, `thingspace`, `jasper`, `webhook`: which external system was called. */
  system: string;
  method: string;
  url: string;
  requestHeaders: Record<string, string>;
  requestBody: string | undefined;
  status: number | undefined;
  responseBody: string | undefined;
  durationMs: number;
}

export interface IntegrationErrorInit {
  /** Which external system: `revio`, `thingspace`, `jasper`, `webhook`, `smtp`. */
  system: string;
  /** HTTP status, when the remote answered. */
  status?: number;
  /** The remote system's own error code (`10000001`, `UnifiedWebService...`), when it gave one. */
  remoteCode?: string;
  exchange?: Exchange;
  cause?: unknown;
}

/**
 * An external call failed in a way that may succeed later: network error, timeout, 408, 429, 5xx.
 * `retryAfterMs` carries the remote's `Retry-After` when it sent one.
 */
export class RetryableError extends DomainError {
  readonly code = 'retryable';
  readonly system: string;
  readonly status: number | undefined;
  readonly remoteCode: string | undefined;
  readonly exchange: Exchange | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, init: IntegrationErrorInit & { retryAfterMs?: number }) {
    super(message);
    this.system = init.system;
    this.status = init.status;
    this.remoteCode = init.remoteCode;
    this.exchange = init.exchange;
    this.retryAfterMs = init.retryAfterMs;
    if (init.cause !== undefined) this.cause = init.cause;
  }
}

/** An external call was refused for good (other 4xx): retrying the same request cannot help. */
export class PermanentError extends DomainError {
  readonly code = 'permanent';
  readonly system: string;
  readonly status: number | undefined;
  readonly remoteCode: string | undefined;
  readonly exchange: Exchange | undefined;

  constructor(message: string, init: IntegrationErrorInit) {
    super(message);
    this.system = init.system;
    this.status = init.status;
    this.remoteCode = init.remoteCode;
    this.exchange = init.exchange;
    if (init.cause !== undefined) this.cause = init.cause;
  }
}

export type IntegrationError = RetryableError | PermanentError;

export function isIntegrationError(error: unknown): error is IntegrationError {
  return error instanceof RetryableError || error instanceof PermanentError;
}
