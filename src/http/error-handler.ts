import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import {
  ConflictError,
  DomainError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  UnauthenticatedError,
  UnprocessableError,
  UpstreamError,
} from '../errors.ts';
import { isDatabaseUnavailable } from '../db/database-unavailable.ts';
import { SecretKeyError } from '../services/secret-box.ts';

/**
 * The one error handler: domain errors → their status; Fastify's schema errors → 400 with the
 * offending fields; anything else → 500 with no internals (the log has them).
 * Body: `{ error: { code, message, details? } }`.
 */

export function statusOf(error: DomainError): number {
  if (error instanceof InvalidInputError) return 400;
  if (error instanceof UnauthenticatedError) return 401;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ConflictError) return 409;
  if (error instanceof PayloadTooLargeError) return 413;
  if (error instanceof UnprocessableError) return 422;
  if (error instanceof RateLimitedError) return 429;
  if (error instanceof UpstreamError) return 502;
  return 500;
}

export function errorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof DomainError) {
    const status = statusOf(error);
    if (status === 502) request.log.warn({ err: error }, 'partner system failed');
    else if (status >= 500) request.log.error({ err: error }, 'domain error');
    if (error instanceof RateLimitedError) reply.header('retry-after', String(error.retryAfterSeconds));
    return reply.code(status).send({ error: body(error.code, error.message, error.details) });
  }

  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const details = fastifyError.validation.map((v) => ({
      path: pointerOf(v),
      in: fastifyError.validationContext ?? 'body',
      message: v.message ?? 'is invalid',
    }));
    return reply.code(400).send({ error: body('invalid_input', 'The request is invalid.', details) });
  }
  if (fastifyError.statusCode === 413 || fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return reply.code(413).send({ error: body('payload_too_large', 'The request body is too large.') });
  }
  if (fastifyError.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    return reply
      .code(fastifyError.statusCode)
      .send({ error: body(fastifyError.code ?? 'bad_request', fastifyError.message) });
  }

  // A server started without SECRETS_KEY (only possible outside `simbind start`, which refuses to)
  // cannot store a secret: the request is fine, the server is not ready for it.
  if (error instanceof SecretKeyError) {
    request.log.error({ err: error }, 'secrets cannot be sealed');
    return reply.code(503).send({
      error: body('secrets_key_missing', 'This server has no SECRETS_KEY: secrets cannot be stored.'),
    });
  }
  // After the domain errors on purpose: a partner's refused connection (a RetryableError) is not ours.
  if (isDatabaseUnavailable(error)) {
    request.log.warn({ err: error }, 'database unavailable');
    return reply
      .code(503)
      .header('retry-after', '5')
      .send({
        error: body('database_unavailable', 'The database cannot be reached right now; try again shortly.'),
      });
  }
  request.log.error({ err: error }, 'unhandled error');
  return reply.code(500).send({ error: body('internal', 'Something went wrong on our side.') });
}

/**
 * The exact field as a JSON pointer (RFC 6901), so a screen can show the message under that field:
 * a missing or unexpected property is named by its own pointer, not its parent's.
 */
export function pointerOf(v: { instancePath: string; params: Record<string, unknown> }): string {
  const child = v.params.missingProperty ?? v.params.additionalProperty;
  if (typeof child !== 'string') return v.instancePath;
  return `${v.instancePath}/${child.replaceAll('~', '~0').replaceAll('/', '~1')}`;
}

function body(code: string, message: string, details?: unknown) {
  return details === undefined ? { code, message } : { code, message, details };
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  return reply
    .code(404)
    .send({ error: body('not_found', `No route ${request.method} ${request.url.split('?')[0] ?? ''}`) });
}
