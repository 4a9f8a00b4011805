import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { Type, type Static } from '@fastify/type-provider-typebox';
import type { TypedApp } from '../app.ts';
import { principalOf } from '../auth.ts';
import {
  described,
  errorResponses,
  IdParams,
  ListResponse,
  UNAUTHENTICATED,
} from '../schemas/common.schemas.ts';
import {
  BulkChange,
  BulkChangeStatus,
  Counts,
  ChangeLog,
  CreateBulkChangeBody,
  DryRunResponse,
  IdempotencyHeaders,
  ListBulkChangesQuery,
  ListLogsQuery,
  ListWorkOrdersQuery,
  SubmitResponse,
  WorkOrder,
} from '../schemas/bulk-change.schemas.ts';
import type { Services } from '../../wiring.ts';
import type { WorkOrderView } from '../../services/bulk-change.service.ts';
import { DEFAULT_LIMIT } from '../pagination.ts';
import { BODY_LIMITS } from '../body-limits.ts';
import { InvalidInputError } from '../../errors.ts';

const tags = ['bulk changes'];
const TransitionResponse = Type.Object({ id: Type.Integer(), status: BulkChangeStatus, counts: Counts });

const NOT_FOUND = 'No such bulk change among the customers the caller may access.';
const BAD_ID = 'The id is not a positive integer.';
const BAD_PAGE = 'The id, `limit`, `cursor` or a filter is invalid: `error.details` lists them.';
const VIEWER = 'The caller is a viewer: viewers read bulk changes but do not change them.';

const BULK_CHANGE_EXAMPLE: Static<typeof BulkChange> = {
  id: 42,
  changeType: 'customer_assignment',
  status: 'PROCESSING',
  serviceProviderId: 1,
  customerId: 12,
  siteId: 31,
  options: {
    changeType: 'customer_assignment',
    serviceProviderId: 1,
    customerId: 12,
    createRevService: true,
    revService: { serviceTypeId: 3, products: [{ productId: 11, rate: 4.5 }], prorate: true },
    addCarrierRatePlan: true,
    carrierRatePlan: { ratePlan: 'M2M-1GB-SHR' },
    addCustomerRatePlan: false,
    effectiveDate: '2025-07-01',
    activatedDate: '2025-07-01',
  },
  source: 'api',
  createdBy: { id: 2, name: 'Olivia Operator', email: 'operator@northwind.example' },
  createdAt: '2025-07-01T09:30:12.345Z',
  startedAt: '2025-07-01T09:30:13.020Z',
  completedAt: null,
  cancelRequestedAt: null,
  counts: { total: 3, pending: 1, processing: 1, waiting: 0, processed: 1, error: 0, cancelled: 0 },
  actions: ['cancel'],
  stats: null,
  undoOf: null,
  undoneBy: null,
  revServiceNames: {
    serviceType: 'IoT data',
    package: null,
    provider: null,
    usagePlanGroup: null,
    products: { '11': 'Data 1 GB' },
  },
};

export function linksOf(id: number) {
  const self = `/api/v1/bulk-changes/${id}`;
  return { self, devices: `${self}/devices`, logs: `${self}/logs` };
}

/**
 * Cancel and retry take no body: a field sent with them (`{"force": true}`) is refused, not ignored,
 * so that nobody believes it did something. No body, `null` or `{}` are fine.
 */
export async function refuseBody(request: FastifyRequest): Promise<void> {
  const body: unknown = request.body;
  // Only JSON has fields; anything else sent by a browser form is the CSRF guard's to refuse.
  if (body === null || typeof body !== 'object') return;
  const keys = Array.isArray(body) ? [''] : Object.keys(body);
  if (keys.length === 0) return;
  throw new InvalidInputError(
    'This action takes no body.',
    keys.map((key) => ({
      path: `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`,
      message: 'is not a field of this action',
    })),
  );
}

export function bulkChangeRoutes(app: TypedApp, services: Services): void {
  app.post(
    '/bulk-changes',
    {
      bodyLimit: BODY_LIMITS.submission,
      schema: {
        tags,
        operationId: 'createBulkChange',
        summary: 'Submit a customer assignment',
        description:
          'Validates the request and every device, then records one work order per device and queues them ' +
          '(202). Ineligible devices are recorded as errors, they do not fail the request. With `dryRun`, ' +
          'answers 200 with the verdict of each device and writes nothing. A repeated `Idempotency-Key` with ' +
          'the same body answers the bulk change it created the first time.',
        body: CreateBulkChangeBody,
        headers: IdempotencyHeaders,
        response: {
          200: described(DryRunResponse, 'Dry run: the verdict of each device; nothing was written.'),
          202: described(SubmitResponse, 'Accepted: the bulk change is recorded and its devices are queued.'),
          ...errorResponses({
            400: 'The request is malformed (shape, devices and filter together, missing options): `error.details` lists the fields.',
            401: UNAUTHENTICATED,
            403: `${VIEWER} Also: a cookie session's request from another site (see the README's security section).`,
            404: 'The service provider or the customer does not exist in the tenant, or the caller may not access that customer (the same answer: whether the customer exists is not revealed).',
            413: 'More than 100,000 devices, listed or matched by the filter.',
            422: 'The change cannot be made as asked (inactive provider or customer, foreign site, unknown plan, no device, Idempotency-Key reused with another body): `error.details` says why.',
          }),
        },
      },
    },
    async (request, reply) => {
      const result = await services.assignments.submit(principalOf(request), request.body, {
        idempotencyKey: request.headers['idempotency-key'],
      });
      // 100,000 verdicts: JSON.stringify writes them in a third of the time of the schema's compiled
      // serializer (its nullable unions are slow), and the service builds exactly the schema's fields.
      if ('dryRun' in result) return reply.code(200).serializer(JSON.stringify).send(result);
      return reply.code(202).send({ ...result, links: linksOf(result.id) });
    },
  );

  app.get(
    '/bulk-changes',
    {
      schema: {
        tags,
        operationId: 'listBulkChanges',
        summary: 'Bulk changes, newest first',
        description:
          'Filters (all optional, combined): status, change type, customer, service provider, who submitted it, entry point, and a creation window. Pages with `nextCursor`, each page still filtered.',
        querystring: ListBulkChangesQuery,
        response: {
          200: described(
            ListResponse(BulkChange),
            'A page of the bulk changes of the customers the caller may access.',
          ),
          ...errorResponses({
            400: '`limit`, `cursor` or a filter is invalid.',
            401: UNAUTHENTICATED,
            404: '`customerId` names no customer the caller may access.',
          }),
        },
      },
    },
    async (request) =>
      services.bulkChanges.list(principalOf(request), {
        ...request.query,
        limit: request.query.limit ?? DEFAULT_LIMIT,
      }),
  );

  app.get(
    '/bulk-changes/:id',
    {
      schema: {
        tags,
        operationId: 'getBulkChange',
        summary: 'One bulk change: status and counts',
        params: IdParams,
        response: {
          200: described(BulkChange, 'The bulk change.', [BULK_CHANGE_EXAMPLE]),
          ...errorResponses({ 400: BAD_ID, 401: UNAUTHENTICATED, 404: NOT_FOUND }),
        },
      },
    },
    async (request) => services.bulkChanges.get(principalOf(request), request.params.id),
  );

  app.get(
    '/bulk-changes/:id/devices',
    {
      schema: {
        tags,
        operationId: 'listBulkChangeDevices',
        summary: 'Per-device results of a bulk change',
        description:
          'A page of per-device results in JSON; with `Accept: text/csv`, every device of the bulk change as ' +
          'one CSV download (no paging).',
        params: IdParams,
        querystring: ListWorkOrdersQuery,
        response: {
          200: described(
            Type.Union([ListResponse(WorkOrder), Type.String()]),
            'A page of per-device results, or the CSV of all of them.',
          ),
          ...errorResponses({ 400: BAD_PAGE, 401: UNAUTHENTICATED, 404: NOT_FOUND }),
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      if (wantsCsv(request.headers.accept)) {
        const rows = await services.bulkChanges.exportDevices(principal, request.params.id);
        return (
          reply
            .type('text/csv; charset=utf-8')
            .header(
              'content-disposition',
              `attachment; filename="bulk-change-${request.params.id}-devices.csv"`,
            )
            // A stream bypasses the response schema; the typed reply only knows the JSON shapes.
            .send(Readable.from(toCsv(rows)) as never)
        );
      }
      return services.bulkChanges.devices(principal, request.params.id, {
        ...request.query,
        limit: request.query.limit ?? DEFAULT_LIMIT,
      });
    },
  );

  app.post(
    '/bulk-changes/:id/retry',
    {
      bodyLimit: BODY_LIMITS.none,
      preValidation: refuseBody,
      schema: {
        tags,
        operationId: 'retryBulkChange',
        summary: 'Retry the retryable failures of a finished bulk change',
        description:
          'Queues again the devices that failed for a reason a retry can fix (timeouts, throttling, remote ' +
          'outages); ineligible devices and refusals by the remote system stay failed.',
        params: IdParams,
        response: {
          202: described(TransitionResponse, 'Accepted: the retryable devices are queued again.'),
          ...errorResponses({
            400: BAD_ID,
            401: UNAUTHENTICATED,
            403: `${VIEWER} Also: a cookie session's request from another site.`,
            404: NOT_FOUND,
            409: 'The bulk change is not finished with failures, or none of its failures can be fixed by a retry.',
          }),
        },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await services.lifecycle.retryFailed(principalOf(request), request.params.id)),
  );

  app.post(
    '/bulk-changes/:id/cancel',
    {
      bodyLimit: BODY_LIMITS.none,
      preValidation: refuseBody,
      schema: {
        tags,
        operationId: 'cancelBulkChange',
        summary: 'Cancel an open bulk change',
        description:
          'Devices not yet started are cancelled; devices already begun are left to finish, then the bulk ' +
          'change finishes. `actions` of the bulk change says whether a cancel is possible now.',
        params: IdParams,
        response: {
          202: described(TransitionResponse, 'Accepted: the open devices are cancelled.'),
          ...errorResponses({
            400: BAD_ID,
            401: UNAUTHENTICATED,
            403: `${VIEWER} Also: a cookie session's request from another site.`,
            404: NOT_FOUND,
            409: 'Nothing to cancel now (finished, already being cancelled, or every device begun): `error.message` says which.',
          }),
        },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await services.lifecycle.cancel(principalOf(request), request.params.id)),
  );

  app.get(
    '/bulk-changes/:id/logs',
    {
      schema: {
        tags,
        operationId: 'listBulkChangeLogs',
        summary: 'Change-log entries of a bulk change',
        description:
          'Each exchange with Rev.io or a carrier, each local step and each rejection, oldest first, each with ' +
          "its device's ICCID and its step; `deviceId` or `iccid` keeps one device's entries, `step` one step's.",
        params: IdParams,
        querystring: ListLogsQuery,
        response: {
          200: described(ListResponse(ChangeLog), 'A page of change-log entries.'),
          ...errorResponses({ 400: BAD_PAGE, 401: UNAUTHENTICATED, 404: NOT_FOUND }),
        },
      },
    },
    async (request) =>
      services.bulkChanges.logs(principalOf(request), request.params.id, {
        ...request.query,
        limit: request.query.limit ?? DEFAULT_LIMIT,
      }),
  );
}

function wantsCsv(accept: string | undefined): boolean {
  return accept !== undefined && /\btext\/csv\b/.test(accept);
}

const CSV_COLUMNS: (keyof WorkOrderView)[] = [
  'deviceId',
  'identifier',
  'iccid',
  'msisdn',
  'status',
  'errorCategory',
  'message',
  'revServiceId',
  'processedAt',
];

async function* toCsv(rows: AsyncIterable<WorkOrderView>): AsyncGenerator<string> {
  yield `${CSV_COLUMNS.join(',')}\r\n`;
  let batch: string[] = [];
  for await (const row of rows) {
    batch.push(CSV_COLUMNS.map((column) => csvCell(row[column])).join(','));
    if (batch.length === 1000) {
      yield `${batch.join('\r\n')}\r\n`;
      batch = [];
    }
  }
  if (batch.length > 0) yield `${batch.join('\r\n')}\r\n`;
}

/** RFC 4180 quoting; a leading = + - @ is defused, since messages may come from remote systems. */
export function csvCell(value: string | number | string[] | null | undefined): string {
  if (value === null || value === undefined) return '';
  let text = Array.isArray(value) ? value.join(' ') : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
