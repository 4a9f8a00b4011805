import type { TypedApp } from '../app.ts';
import { principalOf } from '../auth.ts';
import { described, errorResponses, UNAUTHENTICATED } from '../schemas/common.schemas.ts';
import {
  CreateBulkChangeBody,
  DryRunResponse,
  IdempotencyHeaders,
  SubmitResponse,
} from '../schemas/bulk-change.schemas.ts';
import type { Services } from '../../wiring.ts';
import { BODY_LIMITS } from '../body-limits.ts';
import { bulkChangeActionRoutes } from './bulk-change-actions.routes.ts';
import { bulkChangeReadRoutes, changeLogRoutes } from './bulk-change-reads.routes.ts';
import { tags, VIEWER } from './bulk-change-texts.ts';

/**
 * The bulk change API: the submission here; the reads in bulk-change-reads.routes.ts, retry and
 * cancel in bulk-change-actions.routes.ts. Registered in the order the OpenAPI document lists them.
 */

export { refuseBody } from './bulk-change-actions.routes.ts';
export { csvCell } from './bulk-change-reads.routes.ts';

export function linksOf(id: number) {
  const self = `/api/v1/bulk-changes/${id}`;
  return { self, devices: `${self}/devices`, logs: `${self}/logs` };
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

  bulkChangeReadRoutes(app, services);
  bulkChangeActionRoutes(app, services);
  changeLogRoutes(app, services);
}
