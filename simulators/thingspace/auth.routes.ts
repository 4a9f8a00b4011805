import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { INVALID_CREDENTIALS_FAULT, TS_ERRORS, type ThingSpaceState } from './state.ts';
import { isRecord, tsError } from './wire.ts';

/**
 * ThingSpace's two-token scheme: an OAuth client-credentials token from the API gateway (`/ts/v1`)
 * and an M2M session from `/m2m/v1/session/login`. Every M2M call needs both; the guard below
 * answers like the real service when either is missing or stale.
 */

const TOKEN_SCOPE = 'ts.m2m ts.configuration';
const LOGIN_PATH = '/api/m2m/v1/session/login';

export function registerAuthRoutes(
  app: FastifyInstance,
  state: ThingSpaceState,
  tokenLifetimeMs: number,
): void {
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );

  app.post('/api/ts/v1/oauth2/token', async (request, reply) => {
    const form = isRecord(request.body) ? request.body : {};
    if (form.grant_type !== 'client_credentials') {
      return reply.code(400).send({
        error: 'unsupported_grant_type',
        error_description: 'grant_type must be client_credentials',
      });
    }
    const basic = parseBasic(request.headers.authorization);
    const token = basic && state.issueAccessToken(basic.user, basic.password);
    if (!token) return reply.code(401).send(INVALID_CREDENTIALS_FAULT);
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: Math.ceil(tokenLifetimeMs / 1000),
      scope: TOKEN_SCOPE,
    };
  });

  app.post(LOGIN_PATH, async (request, reply) => {
    const body = request.body;
    if (!isRecord(body) || typeof body.username !== 'string' || typeof body.password !== 'string') {
      return tsError(reply, 400, TS_ERRORS.invalidInput, 'username and password are required.');
    }
    const result = state.login(body.username, body.password);
    if ('errorCode' in result) return reply.code(400).send(result);
    return result;
  });
}

/** Rejects M2M calls without a live bearer token (401 fault) or session (400 SessionToken.*). */
export function m2mGuard(state: ThingSpaceState) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? request.url;
    if (!path.startsWith('/api/m2m/')) return undefined;

    const bearer = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!bearer || !state.isAccessTokenValid(bearer)) {
      return reply.code(401).send(INVALID_CREDENTIALS_FAULT);
    }
    if (path === LOGIN_PATH) return undefined;

    const session = request.headers['vz-m2m-token'];
    switch (state.touchSession(typeof session === 'string' ? session : undefined)) {
      case 'ok':
        return undefined;
      case 'expired':
        return tsError(reply, 400, TS_ERRORS.sessionExpired, 'Session token has expired.');
      case 'invalid':
        return tsError(reply, 400, TS_ERRORS.sessionInvalid, 'Session token is invalid.');
    }
  };
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  const encoded = /^Basic (.+)$/i.exec(header ?? '')?.[1];
  if (!encoded) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
