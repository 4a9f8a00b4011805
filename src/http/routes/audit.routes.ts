import { Type } from '@fastify/type-provider-typebox';
import type { TypedApp } from '../app.ts';
import type { Services } from '../../wiring.ts';
import { principalOf } from '../auth.ts';
import { DEFAULT_LIMIT } from '../pagination.ts';
import {
  described,
  errorResponses,
  ListQuery,
  ListResponse,
  UNAUTHENTICATED,
} from '../schemas/common.schemas.ts';

const AuditEvent = Type.Object({
  id: Type.Integer(),
  at: Type.String({ description: 'When the request was refused (ISO 8601).' }),
  user: Type.Object({
    id: Type.Union([Type.Integer(), Type.Null()]),
    email: Type.Union([Type.String(), Type.Null()]),
  }),
  action: Type.String({
    description: 'What was tried: `bulk_change.submit`, `bulk_change.cancel`, `bulk_change.retry`.',
  }),
  outcome: Type.Literal('refused'),
  customerId: Type.Union([Type.Integer(), Type.Null()], { description: 'The customer the request named.' }),
  deviceCount: Type.Union([Type.Integer(), Type.Null()], {
    description: 'How many devices the request listed (null for a filter or an action on a bulk change).',
  }),
  reason: Type.String({ description: 'Why it was refused.' }),
  details: Type.Record(Type.String(), Type.Unknown()),
});

/** The audit log of refused requests: who tried what, when, and why it was refused (admins only). */
export function auditRoutes(app: TypedApp, services: Services): void {
  app.get(
    '/audit-events',
    {
      schema: {
        tags: ['audit'],
        operationId: 'listAuditEvents',
        summary: 'Refused requests (who tried what, and why), newest first; administrators only',
        querystring: Type.Object({ ...ListQuery }),
        response: {
          200: described(ListResponse(AuditEvent), 'A page of audit events.'),
          ...errorResponses({
            400: '`limit` or `cursor` is invalid.',
            401: UNAUTHENTICATED,
            403: 'Only administrators read the audit log.',
          }),
        },
      },
    },
    async (request) =>
      services.audit.list(principalOf(request), {
        limit: request.query.limit ?? DEFAULT_LIMIT,
        cursor: request.query.cursor,
      }),
  );
}
