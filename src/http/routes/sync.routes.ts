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
  UNAUTHENTICATED,
} from '../schemas/common.schemas.ts';
import type { Services } from '../../wiring.ts';

/**
 * Syncs (administrators): start one for a service provider's devices or a Rev.io account's
 * customers, and follow its runs. The runs themselves are queue jobs (`sync.run`).
 */

const ADMIN_ONLY = 'Only administrators start and follow syncs.';
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

const SyncRun = Type.Object({
  id: Type.Integer(),
  kind: Type.Union([Type.Literal('devices'), Type.Literal('customers')]),
  serviceProviderId: Nullable(Type.Integer()),
  credentialsId: Type.Integer(),
  mode: Type.Union([Type.Literal('full'), Type.Literal('incremental')]),
  status: Type.Union([
    Type.Literal('QUEUED'),
    Type.Literal('RUNNING'),
    Type.Literal('SUCCEEDED'),
    Type.Literal('FAILED'),
  ]),
  since: Nullable(Type.String({ description: 'Devices: the changes since this time were asked for.' })),
  counts: Type.Object({
    pages: Type.Integer(),
    seen: Type.Integer({ description: 'Records the partner listed.' }),
    created: Type.Integer({ description: 'New in simbind.' }),
    changed: Type.Integer({ description: 'Known, and brought up to date.' }),
    gone: Nullable(
      Type.Integer({
        description: "Known to simbind but not in the partner's full list; null where the list cannot tell.",
      }),
    ),
    skipped: Type.Integer({ description: 'Records simbind could not store (an ICCID that is not one).' }),
  }),
  attempts: Type.Integer(),
  error: Nullable(Type.String()),
  requestedBy: Nullable(Type.Integer({ description: 'The user; null: the hourly schedule.' })),
  createdAt: Type.String(),
  startedAt: Nullable(Type.String()),
  finishedAt: Nullable(Type.String()),
  deadlineAt: Type.String({ description: 'Still open by then, the run ends FAILED.' }),
});

const SyncBody = Type.Union(
  [
    Type.Object(
      {
        mode: Type.Optional(
          Type.Union([Type.Literal('full'), Type.Literal('incremental')], {
            description: 'Default: incremental from the last run, or full when there was none.',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    Type.Null(),
  ],
  { description: 'Optional.' },
);

export function syncRoutes(app: TypedApp, { sync }: Services): void {
  const tags = ['sync'];
  const started = described(
    SyncRun,
    'Queued (or the run already open for it): follow it at `GET /sync-runs/{id}`.',
  );

  app.post(
    '/service-providers/:id/sync',
    {
      bodyLimit: BODY_LIMITS.none,
      schema: {
        tags,
        operationId: 'syncDevices',
        summary: "Sync a service provider's devices from its carrier account (administrators only)",
        description:
          'Control Center (Jasper): the devices changed since the last run (a year back for the first, full, ' +
          'run); ThingSpace: the whole account inventory every run (it has no "changed since"), and the ' +
          "provider's devices it no longer lists are counted as gone. Upserted by ICCID: carrier facts only, " +
          'never ownership or customer plans.',
        params: IdParams,
        body: SyncBody,
        response: {
          202: started,
          ...errorResponses({
            400: 'The id or the body is invalid.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            404: 'No service provider of the tenant has this id.',
            422: 'The provider has no carrier account, or its carrier is not synced yet.',
          }),
        },
      },
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(await sync.requestDeviceSync(principalOf(request), request.params.id, request.body?.mode)),
  );

  app.post(
    '/integrations/:id/sync',
    {
      bodyLimit: BODY_LIMITS.none,
      schema: {
        tags,
        operationId: 'syncCustomers',
        summary: "Sync a Rev.io account's customers (administrators only)",
        description:
          'Every customer of the account (`GET /Customers`) is upserted by its Rev.io id, new ones with a default site; customers the list no longer shows are counted as gone.',
        params: IdParams,
        body: SyncBody,
        response: {
          202: started,
          ...errorResponses({
            400: 'The id or the body is invalid.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            404: 'No integration account of the tenant has this id.',
            422: 'Not a Rev.io account.',
          }),
        },
      },
    },
    async (request, reply) =>
      reply
        .code(202)
        .send(await sync.requestCustomerSync(principalOf(request), request.params.id, request.body?.mode)),
  );

  app.get(
    '/sync-runs',
    {
      schema: {
        tags,
        operationId: 'listSyncRuns',
        summary: "The tenant's sync runs, newest first (administrators only)",
        querystring: Type.Object({ ...ListQuery }),
        response: {
          200: described(ListResponse(SyncRun), 'A page of runs.'),
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
      const rows = await sync.list(principalOf(request), { limit: limit + 1, beforeId: cursor?.id });
      return toPage(rows, limit, (row) => ({ id: row.id }));
    },
  );

  app.get(
    '/sync-runs/:id',
    {
      schema: {
        tags,
        operationId: 'getSyncRun',
        summary: 'One sync run: status, counts, error (administrators only)',
        params: IdParams,
        response: {
          200: described(SyncRun, 'The run as it is now.'),
          ...errorResponses({
            400: 'The id is not a positive integer.',
            401: UNAUTHENTICATED,
            403: ADMIN_ONLY,
            404: 'No sync run of the tenant has this id.',
          }),
        },
      },
    },
    async (request) => sync.get(principalOf(request), request.params.id),
  );
}
