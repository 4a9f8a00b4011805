import fastifyStatic from '@fastify/static';
import { WEB_DIR } from '../../paths.ts';
import type { TypedApp } from '../app.ts';

/** The browser UI's files: plain ES modules, no build step. */

/** Client-side routes answered with index.html so their URLs can be shared and reloaded. */
const APP_ROUTES = [
  '/',
  '/login',
  '/new',
  '/bulk-changes',
  '/bulk-changes/:id',
  '/users',
  '/integrations',
  '/webhooks',
  '/customers',
  '/customers/:id',
  '/devices',
  '/devices/:id',
  '/import',
  '/password',
];

/** Nothing loads from elsewhere; the UI works without inline scripts or styles. */
const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * What in `web/` the browser never fetches, so is not served: tsc's project file (`tsc -p web`),
 * and the module of JSDoc types, which only `import('./types.js')` comments name (no runtime code).
 * The Import screen's CSV templates are served: it offers them for download.
 */
const NOT_SERVED = ['**/*.json', '**/*.ts', '**/*.md', 'lib/types.js'];

/**
 * Serves the UI from `web/` at `/`. Only its own files and client-side routes are registered
 * (no wildcard), so `/api`, `/docs`, `/healthz`, `/readyz`, `/metrics` and `/M2M` stay untouched and
 * unknown paths still get the API's JSON 404.
 */
export async function webRoutes(app: TypedApp): Promise<void> {
  await app.register(fastifyStatic, {
    root: WEB_DIR,
    prefix: '/',
    wildcard: false,
    index: false,
    globIgnore: NOT_SERVED,
    cacheControl: false,
    setHeaders(reply) {
      reply.header('cache-control', 'no-cache');
      reply.header('x-content-type-options', 'nosniff');
      reply.header('content-security-policy', CSP);
    },
  });
  for (const url of APP_ROUTES) {
    app.get(url, { schema: { hide: true } }, (_request, reply) => reply.sendFile('index.html'));
  }
}
