import type { FastifyRequest } from 'fastify';
import { ForbiddenError } from '../errors.ts';
import type { TypedApp } from './app.ts';
import { SESSION_COOKIE } from './auth.ts';

/**
 * Cross-site request forgery. A body-less POST (`text/plain`, no CORS preflight) with the session
 * cookie cancelled a 1,859-device bulk change from a foreign page. SameSite=Lax keeps the cookie off
 * cross-site POSTs in current browsers, but not off those of a same-site page (any host under the
 * same registrable domain) nor in browsers without SameSite. So every state change made with the
 * session cookie must say it comes from simbind's own pages, whatever its body:
 *
 * - `Sec-Fetch-Site` (set by the browser, never by the page) is `same-origin`, or `none` (typed by
 *   the user); else
 * - `Origin` is the request's own origin or PUBLIC_URL's.
 *
 * Browsers send one of the two on every POST/PUT/PATCH/DELETE, so a request with the cookie and
 * neither header is refused too. Bearer tokens are not checked: a page cannot make the browser send
 * one. Sign-in from another site (login CSRF: the victim signed in as the attacker) is refused; a
 * sign-in with neither header (a script) is not, as it carries no credential to abuse.
 */

const STATE_CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const CROSS_SITE_REFUSED =
  "Refused: a change made with the session cookie must come from simbind's own pages " +
  '(its Origin or Sec-Fetch-Site header says it does not).';

/** Registered after the cookie plugin (it reads the parsed cookies) and before authentication. */
export function registerCsrfCheck(app: TypedApp, options: { publicUrl?: string | undefined }): void {
  const published = options.publicUrl === undefined ? undefined : originOf(options.publicUrl);
  app.addHook('onRequest', async (request) => {
    if (!STATE_CHANGES.has(request.method)) return;
    // Exactly auth.ts's test: with a Bearer header the cookie is not used at all.
    if (request.headers.authorization?.startsWith('Bearer ')) return;
    const site = siteOf(request, published);
    if (site === 'same-origin') return;
    if (site === 'cross-site' || request.cookies[SESSION_COOKIE] !== undefined) {
      throw new ForbiddenError(CROSS_SITE_REFUSED);
    }
  });
}

function siteOf(
  request: FastifyRequest,
  published: string | undefined,
): 'same-origin' | 'cross-site' | 'unknown' {
  const fetchSite = request.headers['sec-fetch-site'];
  if (fetchSite !== undefined) {
    return fetchSite === 'same-origin' || fetchSite === 'none' ? 'same-origin' : 'cross-site';
  }
  const origin = request.headers.origin;
  if (origin === undefined) return 'unknown';
  const claimed = originOf(origin);
  // request.protocol and request.host follow X-Forwarded-* only from a trusted proxy (TRUST_PROXY).
  const own = originOf(`${request.protocol}://${request.host}`);
  return claimed !== undefined && (claimed === own || claimed === published) ? 'same-origin' : 'cross-site';
}

/** The serialized origin (`https://host[:port]`, default port dropped), or undefined (`null`, junk). */
function originOf(url: string): string | undefined {
  try {
    const { origin } = new URL(url);
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}
