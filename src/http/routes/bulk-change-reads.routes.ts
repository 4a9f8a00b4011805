import { Readable } from 'node:stream';
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
  ChangeLog,
  ListBulkChangesQuery,
  ListLogsQuery,
  ListWorkOrdersQuery,
  WorkOrder,
} from '../schemas/bulk-change.schemas.ts';
import type { Services } from '../../wiring.ts';
import { optionsOf } from '../../services/assignment/request.ts';
import { ASSIGNMENT_EXAMPLE } from '../schemas/bulk-change-request.schemas.ts';
import type { WorkOrderView } from '../../services/bulk-change.service.ts';
import { DEFAULT_LIMIT } from '../pagination.ts';
import { BAD_ID, BAD_PAGE, NOT_FOUND, tags } from './bulk-change-texts.ts';

/**
 * The bulk change reads: the list, one bulk change, its per-device results (a page, or every device
 * as CSV) and its change log. bulk-changes.routes.ts registers them.
 */

const BULK_CHANGE_EXAMPLE: Static<typeof BulkChange> = {
  id: 42,
  changeType: 'customer_assignment',
  status: 'PROCESSING',
  serviceProviderId: 1,
  customerId: 12,
  siteId: 31,
  // What was asked, as stored: the submission's example without its devices, with the activation date.
  options: { ...optionsOf(ASSIGNMENT_EXAMPLE), activatedDate: '2025-07-01' },
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

/** The list, one bulk change and its devices. */
export function bulkChangeReadRoutes(app: TypedApp, services: Services): void {
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
}

/** The change log of a bulk change. */
export function changeLogRoutes(app: TypedApp, services: Services): void {
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
