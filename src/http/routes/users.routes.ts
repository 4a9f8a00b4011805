import { Type } from '@fastify/type-provider-typebox';
import type { TypedApp } from '../app.ts';
import { principalOf, SESSION_COOKIE } from '../auth.ts';
import { BODY_LIMITS } from '../body-limits.ts';
import { decodeCursor, DEFAULT_LIMIT, isIdCursor, toPage } from '../pagination.ts';
import {
  described,
  errorResponses,
  Id,
  IdParams,
  ListQuery,
  ListResponse,
  Text,
  UNAUTHENTICATED,
} from '../schemas/common.schemas.ts';
import { hashSessionId } from '../../services/auth.service.ts';
import type { Services } from '../../wiring.ts';
import { refuseBody } from './bulk-changes.routes.ts';

/** People: administrators manage the tenant's users; everyone changes their own password. */

const Role = Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('viewer')], {
  description: '`admin` (everything, users too), `operator` (assigns devices), `viewer` (reads).',
});
const CustomerIds = Type.Union([Type.Array(Id(), { maxItems: 10_000 }), Type.Null()], {
  description: 'The customers the user may assign to and see; `null`: every customer of the tenant.',
});
const User = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  name: Type.String(),
  role: Role,
  active: Type.Boolean({ description: 'false: disabled; its sessions and API tokens do not work.' }),
  customerIds: CustomerIds,
  createdAt: Type.String(),
});

export function usersRoutes(app: TypedApp, { users }: Services): void {
  const tags = ['users'];

  app.get(
    '/users',
    {
      schema: {
        tags,
        operationId: 'listUsers',
        summary: "The tenant's users (administrators only)",
        querystring: Type.Object({ ...ListQuery }),
        response: {
          200: described(ListResponse(User), 'A page of users, oldest first.'),
          ...errorResponses({
            400: '`limit` or `cursor` is invalid.',
            401: UNAUTHENTICATED,
            403: 'Only administrators manage users.',
          }),
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? DEFAULT_LIMIT;
      const cursor = decodeCursor(request.query.cursor, isIdCursor);
      const rows = await users.list(principalOf(request), { limit: limit + 1, afterId: cursor?.id });
      return toPage(rows, limit, (row) => ({ id: row.id }));
    },
  );

  app.post(
    '/users',
    {
      bodyLimit: BODY_LIMITS.default,
      schema: {
        tags,
        operationId: 'createUser',
        summary: 'Create a user (administrators only)',
        description:
          'Answers the user and a one-time password, shown in this answer only: give it to the person, who ' +
          'changes it at `POST /auth/password`.',
        body: Type.Object(
          {
            email: Text({ minLength: 3, maxLength: 254 }),
            name: Text({ maxLength: 200 }),
            role: Role,
            customerIds: Type.Optional(CustomerIds),
          },
          { additionalProperties: false },
        ),
        response: {
          201: described(
            Type.Object({ user: User, initialPassword: Type.String() }),
            'Created; the one-time password is not shown again.',
          ),
          ...errorResponses({
            400: 'The body is invalid: `error.details` lists the fields.',
            401: UNAUTHENTICATED,
            403: 'Only administrators manage users.',
            409: 'A user with this e-mail exists.',
            422: 'A customer id is not one of the tenant.',
          }),
        },
      },
    },
    async (request, reply) => reply.code(201).send(await users.create(principalOf(request), request.body)),
  );

  app.patch(
    '/users/:id',
    {
      bodyLimit: BODY_LIMITS.default,
      schema: {
        tags,
        operationId: 'updateUser',
        summary: "Change a user's name, role, customers, or disable it (administrators only)",
        description:
          'Disabling (`active: false`) ends the user’s sessions and stops its API tokens at once. Administrators ' +
          'cannot disable themselves or drop their own admin role.',
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Text({ minLength: 1, maxLength: 200 })),
            role: Type.Optional(Role),
            active: Type.Optional(Type.Boolean()),
            customerIds: Type.Optional(CustomerIds),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: {
          200: described(User, 'The user as it is now.'),
          ...errorResponses({
            400: 'The body is invalid: `error.details` lists the fields.',
            401: UNAUTHENTICATED,
            403: 'Only administrators manage users.',
            404: 'No user of the tenant has this id.',
            422: 'Not for your own account, or a customer id is not one of the tenant.',
          }),
        },
      },
    },
    async (request) => users.update(principalOf(request), request.params.id, request.body),
  );

  app.post(
    '/users/:id/password-reset',
    {
      bodyLimit: BODY_LIMITS.none,
      preValidation: refuseBody,
      schema: {
        tags,
        operationId: 'resetUserPassword',
        summary: "Reset a user's password (administrators only)",
        description:
          'For someone who lost theirs: a new one-time password, shown in this answer only; every session of ' +
          'the user ends and the old password stops working. Their API tokens are theirs and stay.',
        params: IdParams,
        response: {
          200: described(
            Type.Object({ user: User, initialPassword: Type.String() }),
            'The one-time password is not shown again.',
          ),
          ...errorResponses({
            400: 'The id is not a positive integer, or a body was sent.',
            401: UNAUTHENTICATED,
            403: 'Only administrators manage users.',
            404: 'No user of the tenant has this id.',
          }),
        },
      },
    },
    async (request) => users.resetPassword(principalOf(request), request.params.id),
  );

  app.post(
    '/auth/password',
    {
      bodyLimit: BODY_LIMITS.credentials,
      schema: {
        tags: ['auth'],
        operationId: 'changePassword',
        summary: 'Change your own password',
        description: 'Every other session of yours ends; this one stays signed in.',
        body: Type.Object(
          {
            currentPassword: Type.String({ minLength: 1, maxLength: 1000 }),
            newPassword: Type.String({ minLength: 1, maxLength: 1000 }),
          },
          { additionalProperties: false },
        ),
        response: {
          204: Type.Unsafe<undefined>({ type: 'null', description: 'Changed.' }),
          ...errorResponses({
            400: 'The new password is too short, or the body is invalid.',
            401: UNAUTHENTICATED,
            422: 'The current password is incorrect.',
          }),
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      let current: Buffer | undefined;
      const raw = request.cookies[SESSION_COOKIE];
      if (principal.via === 'session' && raw) {
        const unsigned = request.unsignCookie(raw);
        if (unsigned.valid && unsigned.value) current = hashSessionId(unsigned.value);
      }
      await users.changePassword(principal, request.body, current);
      return reply.code(204).send();
    },
  );
}
