import { Type } from '@fastify/type-provider-typebox';
import type { TypedApp } from '../app.ts';
import { principalOf } from '../auth.ts';
import { BODY_LIMITS } from '../body-limits.ts';
import { decodeCursor, DEFAULT_LIMIT, isIdCursor, toPage } from '../pagination.ts';
import {
  described,
  errorResponses,
  IdParams,
  ListQuery,
  ListResponse,
  Text,
  UNAUTHENTICATED,
} from '../schemas/common.schemas.ts';
import { WEBHOOK_EVENTS, type WebhookEvent } from '../../services/webhooks.service.ts';
import type { Services } from '../../wiring.ts';
import { refuseBody } from './bulk-changes.routes.ts';

/**
 * Webhook endpoints (administrators): URL and events, the signing secret shown once, enable and
 * disable, send test, and the delivery log. See the README's "Webhooks" for verifying signatures.
 */

const ADMIN_ONLY = 'Only administrators manage webhooks.';
const NOT_FOUND = 'No webhook endpoint of the tenant has this id.';
const BAD_ID = 'The id is not a positive integer.';

const Event = Type.Unsafe<WebhookEvent>(
  Type.String({
    enum: [...WEBHOOK_EVENTS],
    description:
      '`bulk_change.completed`: a bulk change finished (processed, with errors, failed or cancelled).',
  }),
);
const Events = Type.Array(Event, { minItems: 1, maxItems: WEBHOOK_EVENTS.length, uniqueItems: true });
const Url = Text({
  minLength: 1,
  maxLength: 2048,
  description:
    'http or https. Its host must resolve to public addresses only, unless `WEBHOOK_ALLOW_ADDRESSES` allows others.',
});
const Description = Text({ maxLength: 200, description: 'What receives it, for people.' });

const Endpoint = Type.Object({
  id: Type.Integer(),
  url: Type.String(),
  description: Type.String(),
  events: Type.Array(Type.String()),
  active: Type.Boolean({ description: 'false: nothing is delivered to it (send test still works).' }),
  secret: Type.Object(
    {
      setAt: Type.String(),
      setBy: Type.Union([Type.Object({ id: Type.Integer(), name: Type.String() }), Type.Null()]),
    },
    { description: 'The signing secret is never shown again: when and by whom it was set.' },
  ),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

const WithSecret = Type.Object({
  endpoint: Endpoint,
  secret: Type.String({
    description: 'The signing secret (`whsec_…`) for `X-Simbind-Signature`: shown in this answer only.',
  }),
});

const Delivery = Type.Object({
  id: Type.Integer(),
  event: Type.String(),
  bulkChangeId: Type.Union([Type.Integer(), Type.Null()], { description: 'null for a test.' }),
  url: Type.String({ description: 'Where it was sent.' }),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  statusCode: Type.Union([Type.Integer(), Type.Null()], { description: "The receiver's last HTTP status." }),
  error: Type.Union([Type.String(), Type.Null()]),
  response: Type.Union([Type.String(), Type.Null()], {
    description: "The beginning of the receiver's last answer.",
  }),
  createdAt: Type.String(),
  deliveredAt: Type.Union([Type.String(), Type.Null()]),
});

export function webhooksRoutes(app: TypedApp, { webhooks }: Services): void {
  const tags = ['webhooks'];

  app.get(
    '/webhooks',
    {
      schema: {
        tags,
        operationId: 'listWebhooks',
        summary: "The tenant's webhook endpoints (administrators only)",
        querystring: Type.Object({ ...ListQuery }),
        response: {
          200: described(ListResponse(Endpoint), 'A page of endpoints, oldest first; no secrets.'),
          ...errorResponses({
            400: '`limit` or `cursor` is invalid.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
          }),
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? DEFAULT_LIMIT;
      const cursor = decodeCursor(request.query.cursor, isIdCursor);
      const rows = await webhooks.list(principalOf(request), { limit: limit + 1, afterId: cursor?.id });
      return toPage(rows, limit, (row) => ({ id: row.id }));
    },
  );

  app.post(
    '/webhooks',
    {
      bodyLimit: BODY_LIMITS.default,
      schema: {
        tags,
        operationId: 'createWebhook',
        summary: 'Add a webhook endpoint (administrators only)',
        description:
          'Answers the endpoint and its signing secret, shown in this answer only. The URL is checked now ' +
          '(resolved; private, loopback, link-local and metadata addresses refused unless allowed) and again ' +
          'on every delivery and redirect.',
        body: Type.Object(
          {
            url: Url,
            description: Type.Optional(Description),
            events: Type.Optional(Events),
            active: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: {
          201: described(WithSecret, 'Created; the secret is not shown again.'),
          ...errorResponses({
            400: 'The body is invalid: `error.details` lists the fields.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            422: 'The URL may not be called (`error.details` says why).',
          }),
        },
      },
    },
    async (request, reply) => reply.code(201).send(await webhooks.create(principalOf(request), request.body)),
  );

  app.get(
    '/webhooks/:id',
    {
      schema: {
        tags,
        operationId: 'getWebhook',
        summary: 'One webhook endpoint (administrators only)',
        params: IdParams,
        response: {
          200: described(Endpoint, 'The endpoint; no secret.'),
          ...errorResponses({ 400: BAD_ID, 401: UNAUTHENTICATED, 403: ADMIN_ONLY, 404: NOT_FOUND }),
        },
      },
    },
    async (request) => webhooks.get(principalOf(request), request.params.id),
  );

  app.patch(
    '/webhooks/:id',
    {
      bodyLimit: BODY_LIMITS.default,
      schema: {
        tags,
        operationId: 'updateWebhook',
        summary: 'Change, enable or disable a webhook endpoint (administrators only)',
        description: 'A disabled endpoint gets nothing; deliveries already queued for it end as failed.',
        params: IdParams,
        body: Type.Object(
          {
            url: Type.Optional(Url),
            description: Type.Optional(Description),
            events: Type.Optional(Events),
            active: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: {
          200: described(Endpoint, 'The endpoint as it is now.'),
          ...errorResponses({
            400: 'The body is invalid: `error.details` lists the fields.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            404: NOT_FOUND,
            422: 'The URL may not be called (`error.details` says why).',
          }),
        },
      },
    },
    async (request) => webhooks.update(principalOf(request), request.params.id, request.body),
  );

  app.delete(
    '/webhooks/:id',
    {
      bodyLimit: BODY_LIMITS.none,
      preValidation: refuseBody,
      schema: {
        tags,
        operationId: 'deleteWebhook',
        summary: 'Delete a webhook endpoint (administrators only)',
        description: 'Its deliveries stay in the log of the tenant; queued ones end as failed.',
        params: IdParams,
        response: {
          204: Type.Unsafe<undefined>({ type: 'null', description: 'Deleted.' }),
          ...errorResponses({ 400: BAD_ID, 401: UNAUTHENTICATED, 403: ADMIN_ONLY, 404: NOT_FOUND }),
        },
      },
    },
    async (request, reply) => {
      await webhooks.remove(principalOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  app.post(
    '/webhooks/:id/secret',
    {
      bodyLimit: BODY_LIMITS.none,
      preValidation: refuseBody,
      schema: {
        tags,
        operationId: 'rotateWebhookSecret',
        summary: 'A new signing secret (administrators only)',
        description: 'The old secret stops signing at once; the new one is shown in this answer only.',
        params: IdParams,
        response: {
          200: described(WithSecret, 'The new secret; not shown again.'),
          ...errorResponses({ 400: BAD_ID, 401: UNAUTHENTICATED, 403: ADMIN_ONLY, 404: NOT_FOUND }),
        },
      },
    },
    async (request) => webhooks.rotateSecret(principalOf(request), request.params.id),
  );

  app.post(
    '/webhooks/:id/test',
    {
      bodyLimit: BODY_LIMITS.none,
      preValidation: refuseBody,
      schema: {
        tags,
        operationId: 'sendWebhookTest',
        summary: 'Send test: one signed `webhook.test` delivery now (administrators only)',
        description:
          'Sent like every delivery (signed, through the outbound guard), once, whether the endpoint is enabled ' +
          'or not; it goes into the delivery log. Answers 200 either way: `status` says whether it was delivered.',
        params: IdParams,
        response: {
          200: described(Delivery, 'The delivery, with what the receiver answered.'),
          ...errorResponses({ 400: BAD_ID, 401: UNAUTHENTICATED, 403: ADMIN_ONLY, 404: NOT_FOUND }),
        },
      },
    },
    async (request) => webhooks.sendTest(principalOf(request), request.params.id),
  );

  app.get(
    '/webhooks/:id/deliveries',
    {
      schema: {
        tags,
        operationId: 'listWebhookDeliveries',
        summary: "An endpoint's delivery log (administrators only)",
        params: IdParams,
        querystring: Type.Object({ ...ListQuery }),
        response: {
          200: described(ListResponse(Delivery), 'A page of deliveries, newest first.'),
          ...errorResponses({
            400: '`limit` or `cursor` is invalid.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            404: NOT_FOUND,
          }),
        },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? DEFAULT_LIMIT;
      const cursor = decodeCursor(request.query.cursor, isIdCursor);
      const rows = await webhooks.deliveries(principalOf(request), request.params.id, {
        limit: limit + 1,
        beforeId: cursor?.id,
      });
      return toPage(rows, limit, (row) => ({ id: row.id }));
    },
  );
}
