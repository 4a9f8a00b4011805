import { Type } from '@fastify/type-provider-typebox';
import type { TypedApp } from '../app.ts';
import { principalOf } from '../auth.ts';
import { BODY_LIMITS } from '../body-limits.ts';
import { described, errorResponses, Id, IdParams, Text, UNAUTHENTICATED } from '../schemas/common.schemas.ts';
import type { Services } from '../../wiring.ts';

/**
 * Integration accounts (Rev.io, ThingSpace, Jasper) and service providers, entered by administrators.
 * Secrets are write-only: no answer carries them, only which fields are set, when and by whom.
 */

const Integration = Type.Union([Type.Literal('revio'), Type.Literal('thingspace'), Type.Literal('jasper')]);
const Fields = (description: string) =>
  Type.Record(Type.String({ pattern: '^[A-Za-z]{1,40}$' }), Text({ minLength: 1, maxLength: 2000 }), {
    description,
    maxProperties: 10,
  });
const RateLimit = Type.Object(
  {
    requests: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    windowMs: Type.Integer({ minimum: 1, maximum: 86_400_000 }),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false, description: 'Shared by every worker; null: the integration’s default.' },
);
const SETTINGS =
  'Account fields, shown back: Rev.io `username`, `clientCode`; ThingSpace `username`, `accountName`; Jasper `username`.';
const SECRETS =
  'Write-only, sealed at rest: Rev.io `password`, `subscriptionKey`; ThingSpace `appKey`, `appSecret`, `password`; ' +
  'Jasper `apiKey`. On an edit, those given replace the stored ones and those left out are kept.';

const Account = Type.Object({
  id: Type.Integer(),
  integration: Integration,
  name: Type.String(),
  baseUrl: Type.String(),
  settings: Type.Record(Type.String(), Type.String()),
  secrets: Type.Object(
    {
      fields: Type.Array(Type.String()),
      setAt: Type.Union([Type.String(), Type.Null()]),
      setBy: Type.Union([Type.Object({ id: Type.Integer(), name: Type.String() }), Type.Null()]),
    },
    {
      description:
        'Which secrets the account holds, and when and by whom they were last set (never their values).',
    },
  ),
  rateLimit: Type.Union([RateLimit, Type.Null()]),
  callbackUrl: Type.Union([Type.String(), Type.Null()], {
    description:
      'ThingSpace accounts: where ThingSpace calls simbind back (under PUBLIC_URL). simbind registers it at ' +
      'ThingSpace itself, with a secret token of the account appended that is never shown; null for the others.',
  }),
  createdAt: Type.String(),
});

const ADMIN_ONLY = 'Only administrators manage integration accounts.';

export function integrationsRoutes(app: TypedApp, { integrations }: Services): void {
  const tags = ['integrations'];

  app.get(
    '/integrations',
    {
      schema: {
        tags,
        operationId: 'listIntegrationAccounts',
        summary: "The tenant's Rev.io, ThingSpace and Jasper accounts (administrators only)",
        response: {
          200: described(Type.Object({ items: Type.Array(Account) }), 'Every account, in one page.'),
          ...errorResponses({ 401: UNAUTHENTICATED, 403: ADMIN_ONLY }),
        },
      },
    },
    async (request) => ({ items: await integrations.list(principalOf(request)) }),
  );

  app.post(
    '/integrations',
    {
      bodyLimit: BODY_LIMITS.default,
      schema: {
        tags,
        operationId: 'createIntegrationAccount',
        summary: 'Add a Rev.io, ThingSpace or Jasper account (administrators only)',
        body: Type.Object(
          {
            integration: Integration,
            name: Text({ minLength: 1, maxLength: 200 }),
            baseUrl: Text({
              minLength: 1,
              maxLength: 2000,
              description: 'https://… or `simulator://<integration>`.',
            }),
            settings: Fields(SETTINGS),
            secrets: Fields(SECRETS),
            rateLimit: Type.Optional(Type.Union([RateLimit, Type.Null()])),
          },
          { additionalProperties: false },
        ),
        response: {
          201: described(Account, 'Created; the secrets are sealed and not shown.'),
          ...errorResponses({
            400: 'The body is invalid: `error.details` names the fields (a missing or unknown setting or secret too).',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            409: 'An account with this name exists.',
          }),
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await integrations.create(principalOf(request), request.body)),
  );

  app.patch(
    '/integrations/:id',
    {
      bodyLimit: BODY_LIMITS.default,
      schema: {
        tags,
        operationId: 'updateIntegrationAccount',
        summary: 'Edit an integration account (administrators only)',
        description: 'Running workers of other processes pick the change up within a minute.',
        params: IdParams,
        body: Type.Object(
          {
            name: Type.Optional(Text({ minLength: 1, maxLength: 200 })),
            baseUrl: Type.Optional(Text({ minLength: 1, maxLength: 2000 })),
            settings: Type.Optional(Fields(SETTINGS)),
            secrets: Type.Optional(Fields(SECRETS)),
            rateLimit: Type.Optional(Type.Union([RateLimit, Type.Null()])),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: {
          200: described(Account, 'The account as it is now.'),
          ...errorResponses({
            400: 'The body is invalid: `error.details` names the fields.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            404: 'No integration account of the tenant has this id.',
            409: 'Another account has this name.',
          }),
        },
      },
    },
    async (request) => integrations.update(principalOf(request), request.params.id, request.body),
  );

  app.post(
    '/integrations/:id/test',
    {
      bodyLimit: BODY_LIMITS.none,
      schema: {
        tags,
        operationId: 'testIntegrationAccount',
        summary: 'Test connection: one harmless read with the account (administrators only)',
        description:
          'Rev.io `GET /ServiceTypes`; ThingSpace a token, a session and a device lookup; Jasper a device lookup. ' +
          'Answers 200 either way: `ok` says whether it worked, with the remote answer.',
        params: IdParams,
        response: {
          200: described(
            Type.Object({
              ok: Type.Boolean(),
              integration: Integration,
              check: Type.String(),
              status: Type.Union([Type.Integer(), Type.Null()]),
              durationMs: Type.Integer(),
              message: Type.String(),
              remote: Type.Union([Type.String(), Type.Null()]),
            }),
            'What was tried and what the remote system answered.',
          ),
          ...errorResponses({
            400: 'The id is not a positive integer.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            404: 'No integration account of the tenant has this id.',
          }),
        },
      },
    },
    async (request) => integrations.testConnection(principalOf(request), request.params.id),
  );

  app.post(
    '/service-providers',
    {
      bodyLimit: BODY_LIMITS.default,
      schema: {
        tags: ['reference'],
        operationId: 'createServiceProvider',
        summary: 'Add a service provider: a carrier account and a portal (administrators only)',
        body: Type.Object(
          {
            name: Text({ minLength: 1, maxLength: 200 }),
            credentialsId: Id({ description: 'A ThingSpace or Jasper integration account.' }),
            portalType: Type.Union([Type.Literal('m2m'), Type.Literal('mobility'), Type.Literal('lnp')], {
              description: '`m2m` devices are named by ICCID; `mobility` and `lnp` by MSISDN.',
            }),
          },
          { additionalProperties: false },
        ),
        response: {
          201: described(
            Type.Object({
              id: Type.Integer(),
              name: Type.String(),
              integration: Type.String(),
              portalType: Type.String(),
            }),
            'Created.',
          ),
          ...errorResponses({
            400: 'The body is invalid.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            409: 'A service provider with this name exists.',
            422: 'The account does not exist or is not a carrier account.',
          }),
        },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await integrations.createServiceProvider(principalOf(request), request.body)),
  );
}
