/**
 * What a request log line says about the request: Fastify's default fields, with the secrets some
 * URLs carry replaced by `[REDACTED]`. The ThingSpace callback URL authenticates by a token in its
 * path, and clients sometimes put tokens in query strings; log lines are shipped to places (log
 * stores, screenshots, tickets) where such a secret must not turn up.
 */

export const REDACTED = '[REDACTED]';

/**
 * Path segments that are secrets wherever they appear, whether or not a route matched (a GET on a
 * callback URL is a 404, and is logged too): the segment after `/carrier-callbacks/<carrier>/`.
 */
const SECRET_SEGMENTS = [/(\/carrier-callbacks\/[^/?#]*\/)[^/?#]+/gi];

/** Route parameters and query parameters whose names say they hold a secret. */
const SECRET_NAME =
  /token|secret|passw(or)?d|pwd|api[-_]?key|subscription[-_]?key|signature|^sig$|auth|credential|session|^code$/i;

/** The parts of a Fastify request (or a raw Node request) the serializer reads. */
interface LoggedRequest {
  method?: string;
  url?: string;
  headers?: Record<string, string | string[] | undefined>;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number } | null;
  params?: unknown;
}

/** Pino serializer for `req`: Fastify's default fields, the URL redacted. */
export function serializeRequest(req: LoggedRequest) {
  const version = req.headers?.['accept-version'];
  return {
    method: req.method,
    url: req.url === undefined ? undefined : redactUrl(req.url, secretParams(req.params)),
    version: Array.isArray(version) ? version.join(', ') : version,
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/**
 * The URL with its secrets replaced: the known secret path segments, the path segments holding
 * the given route parameters' values, and secret-looking query parameters.
 */
export function redactUrl(url: string, secretValues: string[] = []): string {
  const queryAt = url.search(/[?#]/);
  let path = queryAt === -1 ? url : url.slice(0, queryAt);
  const rest = queryAt === -1 ? '' : url.slice(queryAt);
  for (const pattern of SECRET_SEGMENTS) path = path.replace(pattern, `$1${REDACTED}`);
  if (secretValues.length > 0) {
    // Whole segments only: a parameter's value is one segment of the path, as sent or encoded.
    const secrets = new Set(secretValues.flatMap((v) => (v === '' ? [] : [v, encodeURIComponent(v)])));
    path = path
      .split('/')
      .map((segment) => (secrets.has(segment) || secrets.has(safeDecode(segment)) ? REDACTED : segment))
      .join('/');
  }
  return path + redactQuery(rest);
}

/** `?a=1&token=x#f` → `?a=1&token=[REDACTED]#f`; everything else stays exactly as sent. */
function redactQuery(rest: string): string {
  if (!rest.startsWith('?')) return rest;
  const hashAt = rest.indexOf('#');
  const query = hashAt === -1 ? rest.slice(1) : rest.slice(1, hashAt);
  const fragment = hashAt === -1 ? '' : rest.slice(hashAt);
  const pairs = query.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq === -1 ? pair : pair.slice(0, eq);
    return eq !== -1 && SECRET_NAME.test(safeDecode(name, true)) ? `${name}=${REDACTED}` : pair;
  });
  return `?${pairs.join('&')}${fragment}`;
}

function secretParams(params: unknown): string[] {
  if (typeof params !== 'object' || params === null) return [];
  return Object.entries(params)
    .filter(([name, value]) => SECRET_NAME.test(name) && typeof value === 'string')
    .map(([, value]) => value as string);
}

/** Percent-decoding that never throws; in a query string `+` is a space too. */
function safeDecode(text: string, plusIsSpace = false): string {
  try {
    return decodeURIComponent(plusIsSpace ? text.replace(/\+/g, ' ') : text);
  } catch {
    return text;
  }
}
