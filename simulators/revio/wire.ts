import type { FastifyReply } from 'fastify';

/**
 * Rev.io's wire conventions shared by the simulator's routes: error bodies, list pages, dates.
 */

const ERROR_NAMES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** Rev.io's error body (the array shape is inferred from observed answers). */
export function errorBody(status: number, message?: string): unknown {
  const error = ERROR_NAMES[status] ?? `HTTP ${status}`;
  return [{ ok: false, error, message: message ?? `${error}.` }];
}

export function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).send(errorBody(status, message));
}

/** The API gateway's throttling answer, which is not in Rev.io's own error shape. */
export function sendThrottled(reply: FastifyReply, retryAfterSeconds: number): FastifyReply {
  return reply
    .code(429)
    .header('retry-after', String(retryAfterSeconds))
    .send({ statusCode: 429, message: `Rate limit is exceeded. Try again in ${retryAfterSeconds} seconds.` });
}

/** A field problem the route answers with a 400; thrown from validators to keep routes flat. */
export class BadRequest extends Error {}

export const MAX_PAGE_SIZE = 500;
const DEFAULT_PAGE_SIZE = 10;

export interface ListPage<T> {
  ok: true;
  has_more: boolean;
  /** Inferred: the number of records matching the search, not just those on this page. */
  record_count: number;
  records: T[];
}

export function page<T>(all: T[], query: Record<string, string | undefined>): ListPage<T> {
  const pageNo = integerParam(query['search.page'], 'search.page', 1) ?? 1;
  const size = integerParam(query['search.page_size'], 'search.page_size', 1) ?? DEFAULT_PAGE_SIZE;
  if (size > MAX_PAGE_SIZE) throw new BadRequest(`search.page_size must be between 1 and ${MAX_PAGE_SIZE}.`);
  const start = (pageNo - 1) * size;
  return {
    ok: true,
    has_more: start + size < all.length,
    record_count: all.length,
    records: all.slice(start, start + size),
  };
}

export function integerParam(raw: string | undefined, name: string, min: number): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min)
    throw new BadRequest(`${name} must be an integer ≥ ${min}.`);
  return value;
}

export function optionalId(body: Record<string, unknown>, field: string): number | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new BadRequest(`${field} must be a positive integer.`);
  }
  return value;
}

export function requiredId(body: Record<string, unknown>, field: string): number {
  const value = optionalId(body, field);
  if (value === null) throw new BadRequest(`${field} is required.`);
  return value;
}

export function optionalText(body: Record<string, unknown>, field: string, maxLength: number): string | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new BadRequest(`${field} must be a string.`);
  if (value.length > maxLength) throw new BadRequest(`${field} must be at most ${maxLength} characters.`);
  return value;
}

// `2024-05-01`, the older client's `2024-05-01Z`, or a full ISO date-time (whose calendar date is kept).
const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:Z|T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** Parses a wire date and answers it the way Rev.io returns dates: `yyyy-MM-ddT00:00:00`. */
export function optionalDate(body: Record<string, unknown>, field: string): string | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  const match = typeof value === 'string' ? DATE.exec(value) : null;
  if (typeof value !== 'string' || !match) throw new BadRequest(`${field} is not a valid date.`);
  const [, year, month, day] = match.map(Number) as [number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    throw new BadRequest(`${field} is not a valid date.`);
  }
  return `${value.slice(0, 10)}T00:00:00`;
}
