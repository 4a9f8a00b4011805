import { requirePrincipal } from '../services/principal.ts';
import type { TypedApp } from './app.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Answers without a signed-in caller (sign-in, sign-out, the carrier callback). */
    public?: boolean;
  }
}

/** The namespaces where every route needs a caller unless it says `config: { public: true }`. */
const GUARDED_PREFIXES = ['/api/v1/', '/M2M/', '/Mobility/'];

/**
 * Refuses an anonymous caller in `onRequest`, before the body is read: a route used to refuse in its
 * handler, after up to 16 MB had been read and parsed, and 8 parallel 15 MB anonymous POSTs stalled
 * `/healthz`. Registered after `registerAuthentication` (hooks run in order), before the routes (so
 * their plugins inherit it). The error goes to the route's own error handler, so the older entry
 * points still answer in their shape.
 */
export function refuseAnonymousBeforeBody(app: TypedApp): void {
  app.addHook('onRequest', async (request) => {
    const { url, config } = request.routeOptions;
    if (url === undefined || config.public === true) return;
    if (GUARDED_PREFIXES.some((prefix) => url.startsWith(prefix))) requirePrincipal(request.principal);
  });
}
