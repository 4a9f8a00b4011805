import type { FastifyRequest } from 'fastify';
import type { TypedApp } from '../app.ts';
import { principalOf, SESSION_COOKIE } from '../auth.ts';
import { decodeCursor, DEFAULT_LIMIT, isIdCursor, toPage } from '../pagination.ts';
import { authErrors, IdParams } from '../schemas/common.schemas.ts';
import {
  CreatedToken,
  CreateTokenBody,
  LoginBody,
  loginErrors,
  TokenList,
  TokenListQuery,
  UserResponse,
} from '../schemas/auth.schemas.ts';
import type { Services } from '../../wiring.ts';

/**
 * Sign-in, sign-out, the current user, and the user's API tokens. The session cookie is signed
 * (@fastify/cookie), HttpOnly, SameSite=Lax, and Secure whenever the request came over https.
 */
export function authRoutes(app: TypedApp, { auth }: Services): void {
  const tags = ['auth'];

  app.post(
    '/auth/login',
    { schema: { tags, security: [], body: LoginBody, response: { 200: UserResponse, ...loginErrors } } },
    async (request, reply) => {
      const signIn = await auth.login({ ...request.body, clientAddress: request.ip });
      reply.setCookie(SESSION_COOKIE, signIn.sessionId, {
        signed: true,
        httpOnly: true,
        sameSite: 'lax',
        secure: 'auto',
        path: '/',
        maxAge: signIn.maxAgeSeconds,
      });
      return { user: signIn.user };
    },
  );

  app.post('/auth/logout', { schema: { tags, response: { 204: {} } } }, async (request, reply) => {
    const sessionId = sessionIdOf(request);
    if (sessionId) await auth.logout(sessionId);
    return reply.clearCookie(SESSION_COOKIE, { path: '/' }).code(204).send();
  });

  app.get(
    '/auth/me',
    { schema: { tags, response: { 200: UserResponse, ...authErrors } } },
    async (request) => ({
      user: await auth.currentUser(principalOf(request)),
    }),
  );

  app.post(
    '/auth/tokens',
    { schema: { tags, body: CreateTokenBody, response: { 201: CreatedToken, ...authErrors } } },
    async (request, reply) => {
      const created = await auth.createApiToken(principalOf(request), request.body);
      return reply.code(201).send({ ...created, expiresAt: created.expiresAt?.toISOString() ?? null });
    },
  );

  app.get(
    '/auth/tokens',
    { schema: { tags, querystring: TokenListQuery, response: { 200: TokenList, ...authErrors } } },
    async (request) => {
      const limit = request.query.limit ?? DEFAULT_LIMIT;
      const cursor = decodeCursor(request.query.cursor, isIdCursor);
      const rows = await auth.listApiTokens(principalOf(request), { limit, beforeId: cursor?.id });
      const page = toPage(rows, limit, (row) => ({ id: row.id }));
      return {
        nextCursor: page.nextCursor,
        items: page.items.map((t) => ({
          ...t,
          createdAt: t.createdAt.toISOString(),
          lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
          expiresAt: t.expiresAt?.toISOString() ?? null,
        })),
      };
    },
  );

  app.delete(
    '/auth/tokens/:id',
    { schema: { tags, params: IdParams, response: { 204: {}, ...authErrors } } },
    async (request, reply) => {
      await auth.revokeApiToken(principalOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
}

/** The session id of a validly signed session cookie, if the request carries one. */
function sessionIdOf(request: FastifyRequest): string | undefined {
  const raw = request.cookies[SESSION_COOKIE];
  if (!raw) return undefined;
  const unsigned = request.unsignCookie(raw);
  return unsigned.valid && unsigned.value ? unsigned.value : undefined;
}
