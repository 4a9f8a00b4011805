import { Readable } from 'node:stream';
import { Type } from '@fastify/type-provider-typebox';
import type { TypedApp } from '../app.ts';
import { principalOf } from '../auth.ts';
import { authErrors, ErrorResponse, IdParams, ListResponse } from '../schemas/common.schemas.ts';
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

const tags = ['bulk changes'];
const TransitionResponse = Type.Object({ id: Type.Integer(), status: BulkChangeStatus, counts: Counts });

export function linksOf(id: number) {
  const self = `/api/v1/bulk-changes/${id}`;
  return { self, devices: `${self}/devices`, logs: `${self}/logs` };
}

export function bulkChangeRoutes(app: TypedApp, services: Services): void {
  app.post(
    '/bulk-changes',
    {
      schema: {
        tags,
        summary: 'Submit a customer assignment (validate, then queue every device)',
        body: CreateBulkChangeBody,
        headers: IdempotencyHeaders,
        response: {
          200: DryRunResponse,
          202: SubmitResponse,
          ...authErrors,
          409: ErrorResponse,
          413: ErrorResponse,
          422: ErrorResponse,
        },
      },
    },
    async (request, reply) => {
      const result = await services.assignments.submit(principalOf(request), request.body, {
        idempotencyKey: request.headers['idempotency-key'],
      });
      if ('dryRun' in result) return reply.code(200).send(result);
      return reply.code(202).send({ ...result, links: linksOf(result.id) });
    },
  );

  app.get(
    '/bulk-changes',
    {
      schema: {
        tags,
        summary: 'Bulk changes, newest first',
        querystring: ListBulkChangesQuery,
        response: { 200: ListResponse(BulkChange), ...authErrors },
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
        summary: 'Status and counts',
        params: IdParams,
        response: { 200: BulkChange, ...authErrors },
      },
    },
    async (request) => services.bulkChanges.get(principalOf(request), request.params.id),
  );

  app.get(
    '/bulk-changes/:id/devices',
    {
      schema: {
        tags,
        summary: 'Per-device results; with `Accept: text/csv`, all of them as CSV',
        params: IdParams,
        querystring: ListWorkOrdersQuery,
        response: { 200: Type.Union([ListResponse(WorkOrder), Type.String()]), ...authErrors },
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
      schema: {
        tags,
        summary: 'Retry the retryable failures of a finished bulk change (those devices only)',
        params: IdParams,
        response: {
          202: TransitionResponse,
          ...authErrors,
          409: ErrorResponse,
        },
      },
    },
    async (request, reply) =>
      reply.code(202).send(await services.lifecycle.retryFailed(principalOf(request), request.params.id)),
  );

  app.post(
    '/bulk-changes/:id/cancel',
    {
      schema: {
        tags,
        summary: 'Cancel what has not started; devices in flight finish their current step',
        params: IdParams,
        response: {
          202: TransitionResponse,
          ...authErrors,
          409: ErrorResponse,
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
        summary: 'Change-log entries',
        params: IdParams,
        querystring: ListLogsQuery,
        response: { 200: ListResponse(ChangeLog), ...authErrors },
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
