import type { FastifyRequest } from 'fastify';
import type { Principal } from '../services/principal.ts';
import { requirePrincipal } from '../services/principal.ts';
import type { AuthService } from '../services/auth.service.ts';
import type { TypedApp } from './app.ts';

/**
 * Resolves the caller on every request: the signed session cookie, else `Authorization: Bearer`.
 * Routes call `principalOf(request)`, which answers 401 when nobody is signed in.
 */

export const SESSION_COOKIE = 'simbind_session';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

export function registerAuthentication(app: TypedApp, auth: AuthService): void {
  app.decorateRequest('principal', undefined);
  app.addHook('onRequest', async (request) => {
    request.principal = await resolvePrincipal(request, auth);
  });
}

async function resolvePrincipal(request: FastifyRequest, auth: AuthService): Promise<Principal | undefined> {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return auth.authenticateToken(header.slice('Bearer '.length).trim());
  const raw = request.cookies[SESSION_COOKIE];
  if (!raw) return undefined;
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid || !unsigned.value) return undefined;
  return auth.authenticateSession(unsigned.value);
}

export function principalOf(request: FastifyRequest): Principal {
  return requirePrincipal(request.principal);
}
