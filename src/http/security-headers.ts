import type { TypedApp } from './app.ts';

/**
 * Headers every answer carries, not only the UI's files (web.routes.ts keeps its own CSP):
 *
 * - `X-Content-Type-Options: nosniff`: a JSON or CSV answer is never run as a script or page.
 * - `Referrer-Policy: no-referrer`: URLs (bulk change ids, search prefixes) do not leak to links.
 * - `Cache-Control: no-store` on JSON and CSV: device lists, exports and the signed-in user must not
 *   stay in a browser's or a proxy's cache after sign-out. A route that sets its own is left alone.
 * - `Strict-Transport-Security` when the request came over https (directly, or through a proxy
 *   trusted with TRUST_PROXY): never over plain http, where a browser would ignore it anyway.
 *
 * Registered before the plugins and routes, so their answers (the `/docs` ones included) get it.
 */

const STORABLE = /^(application\/(?:[\w.+-]+\+)?json|text\/csv)\b/i;

/** One year: browsers keep using https for that long after the last visit. */
const HSTS = 'max-age=31536000';

/**
 * `/docs` (swagger-ui): its page loads its scripts and styles from its own files, and "Try it out"
 * calls this origin. The one inline `<style>` is in swagger-ui's logo SVG: allowed by its hash
 * (checked in Chromium with the swagger-ui 5.34 of @fastify/swagger-ui 6.1; a version with another
 * logo only loses the logo's colours). Unlike the plugin's `staticCSP: true` default, no `https:`
 * styles, no validator.swagger.io image (nothing leaves for a third party) and no
 * `upgrade-insecure-requests` (it breaks plain-http deployments such as the local demo).
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export function registerSecurityHeaders(app: TypedApp): void {
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && STORABLE.test(type) && !reply.hasHeader('cache-control')) {
      reply.header('cache-control', 'no-store');
    }
    if (request.protocol === 'https') reply.header('strict-transport-security', HSTS);
    return payload;
  });
}
