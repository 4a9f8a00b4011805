import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TypedApp } from '../app.ts';
import { principalOf, SESSION_COOKIE } from '../auth.ts';
import { BODY_LIMITS } from '../body-limits.ts';
import { decodeCursor, DEFAULT_LIMIT, isIdCursor, toPage } from '../pagination.ts';
import { described, errorResponses, IdParams, UNAUTHENTICATED } from '../schemas/common.schemas.ts';
import {
  CreatedToken,
  CreateTokenBody,
  LoginBody,
  TokenList,
  TokenListQuery,
  UserResponse,
} from '../schemas/auth.schemas.ts';
import type { SignIn } from '../../services/auth.service.ts';
import type { Services } from '../../wiring.ts';

/**
 * Sign-in, sign-out, the current user, and the user's API tokens. The session cookie is signed
 * (@fastify/cookie), HttpOnly, SameSite=Lax, and Secure whenever the request came over https.
 */
export function authRoutes(app: TypedApp, { auth }: Services): void {
  const tags = ['auth'];

  app.post(
    '/auth/login',
    {
      config: { public: true },
      bodyLimit: BODY_LIMITS.credentials,
      schema: {
        tags,
        operationId: 'login',
        summary: 'Sign in',
        description:
          'Checks the e-mail and password and sets the signed, HttpOnly session cookie `simbind_session`. ' +
          'Failed attempts are counted per e-mail and per client address; past the limit the answer is 429.',
        security: [],
        body: LoginBody,
        response: {
          200: described(UserResponse, 'Signed in: the session cookie is set; the body is the user.'),
          ...errorResponses({
            400: 'The body is not `{ email, password }`.',
            401: 'The e-mail and password do not match an active user.',
            429: 'Too many failed attempts for this e-mail or from this address; `Retry-After` says how many seconds to wait.',
          }),
        },
      },
    },
    async (request, reply) => {
      const signIn = await auth.login({ ...request.body, clientAddress: request.ip });
      // A new session id on every sign-in, never one the browser brought (no fixation); the session
      // the request carried, if any, ends here rather than living on beside the new one.
      const previous = sessionIdOf(request);
      if (previous) await auth.logout(previous);
      setSessionCookie(request, reply, signIn);
      return { user: signIn.user };
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { public: true },
      bodyLimit: BODY_LIMITS.none,
      schema: {
        tags,
        operationId: 'logout',
        summary: 'Sign out',
        description: 'Ends the session of the cookie, if any, and clears the cookie. Needs no body.',
        response: {
          204: Type.Unsafe<undefined>({
            type: 'null',
            description: 'Signed out (also when nobody was signed in).',
          }),
          ...errorResponses({ 400: 'A body was sent and it is not valid JSON.' }),
        },
      },
    },
    async (request, reply) => {
      const sessionId = sessionIdOf(request);
      if (sessionId) await auth.logout(sessionId);
      return reply
        .clearCookie(SESSION_COOKIE, {
          path: '/',
          httpOnly: true,
          sameSite: 'lax',
          secure: request.protocol === 'https',
        })
        .code(204)
        .send();
    },
  );

  app.get(
    '/auth/me',
    {
      schema: {
        tags,
        operationId: 'getCurrentUser',
        summary: 'The signed-in user',
        response: {
          200: described(UserResponse, 'The user the session or API token belongs to.'),
          ...errorResponses({ 401: `${UNAUTHENTICATED} Also when the user was deactivated.` }),
        },
      },
    },
    async (request) => ({
      user: await auth.currentUser(principalOf(request)),
    }),
  );

  app.post(
    '/auth/tokens',
    {
      bodyLimit: BODY_LIMITS.credentials,
      schema: {
        tags,
        operationId: 'createApiToken',
        summary: 'Create an API token',
        description:
          'For scripts and other systems, sent as `Authorization: Bearer <token>`. The secret is in this answer ' +
          'only. Created from a signed-in session: a token cannot create tokens.',
        body: CreateTokenBody,
        response: {
          201: described(CreatedToken, 'The token, with its secret.'),
          ...errorResponses({
            400: 'The body is invalid: `error.details` lists the fields.',
            401: UNAUTHENTICATED,
            403: 'The caller authenticated with an API token; tokens are created from a signed-in session.',
          }),
        },
      },
    },
    async (request, reply) => {
      const created = await auth.createApiToken(principalOf(request), request.body);
      return reply.code(201).send({ ...created, expiresAt: created.expiresAt?.toISOString() ?? null });
    },
  );

  app.get(
    '/auth/tokens',
    {
      schema: {
        tags,
        operationId: 'listApiTokens',
        summary: "The caller's API tokens, newest first",
        description: 'Secrets are never shown again: a token is recognised by its name and prefix.',
        querystring: TokenListQuery,
        response: {
          200: described(TokenList, "A page of the caller's tokens that are not revoked."),
          ...errorResponses({
            400: '`limit` or `cursor` is invalid.',
            401: UNAUTHENTICATED,
          }),
        },
      },
    },
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
    {
      schema: {
        tags,
        operationId: 'revokeApiToken',
        summary: 'Revoke one of your API tokens',
        params: IdParams,
        response: {
          204: Type.Unsafe<undefined>({
            type: 'null',
            description: 'Revoked (or already was): the token no longer authenticates.',
          }),
          ...errorResponses({
            400: 'The id is not a positive integer.',
            401: UNAUTHENTICATED,
            404: 'The caller has no API token with this id.',
          }),
        },
      },
    },
    async (request, reply) => {
      await auth.revokeApiToken(principalOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
}

/** The signed session cookie of a new sign-in (also set by the first-run setup). */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, signIn: SignIn): void {
  reply.setCookie(SESSION_COOKIE, signIn.sessionId, {
    signed: true,
    httpOnly: true,
    sameSite: 'lax',
    // https directly, or through a proxy trusted with TRUST_PROXY (X-Forwarded-Proto).
    secure: request.protocol === 'https',
    path: '/',
    maxAge: signIn.maxAgeSeconds,
  });
}

/** The session id of a validly signed session cookie, if the request carries one. */
function sessionIdOf(request: FastifyRequest): string | undefined {
  const raw = request.cookies[SESSION_COOKIE];
  if (!raw) return undefined;
  const unsigned = request.unsignCookie(raw);
  return unsigned.valid && unsigned.value ? unsigned.value : undefined;
}
