/**
 * Whether an error only says that PostgreSQL cannot be reached right now: the connection was
 * refused, reset or timed out, the server closed it (a restart, an administrator, a crash of another
 * backend), or the server is starting up, shutting down or recovering. The API answers those 503
 * (try again shortly), not 500: nothing is wrong with the request or the code, and a load balancer
 * or client that retries will succeed once the database is back.
 *
 * Pure: looks at the error, its `cause` chain and an AggregateError's errors (Node reports a failed
 * connect to several addresses as one), never at the database.
 */

/** Socket errors of a connect or of a connection that died. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

/**
 * SQLSTATEs: class 08 (connection exception), 57P01 admin_shutdown (`pg_ctl stop -m fast`),
 * 57P02 crash_shutdown (another backend crashed), 57P03 cannot_connect_now (starting up, shutting
 * down, in recovery), 53300 too_many_connections (the server refuses new sessions for now).
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** node-postgres raises these without a code. */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated unexpectedly/,
  /^Connection terminated due to connection timeout/,
  /^timeout exceeded when trying to connect/,
  /the database system is (starting up|shutting down|in recovery mode|not yet accepting connections)/,
];

/** Causes followed at most: a cycle (an error that is its own cause) must not hang the handler. */
const MAX_DEPTH = 5;

export function isDatabaseUnavailable(error: unknown): boolean {
  return unavailable(error, 0);
}

function unavailable(error: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH || typeof error !== 'object' || error === null) return false;
  const { code, message, cause, errors } = error as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code)) return true;
  }
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message))) {
    return true;
  }
  if (Array.isArray(errors) && errors.some((inner) => unavailable(inner, depth + 1))) return true;
  return cause !== undefined && unavailable(cause, depth + 1);
}
