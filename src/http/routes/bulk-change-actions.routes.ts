import type { FastifyRequest } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import type { TypedApp } from '../app.ts';
import { principalOf } from '../auth.ts';
import { described, errorResponses, IdParams, UNAUTHENTICATED } from '../schemas/common.schemas.ts';
import { BulkChangeStatus, Counts } from '../schemas/bulk-change.schemas.ts';
import type { Services } from '../../wiring.ts';
import { BODY_LIMITS } from '../body-limits.ts';
import { InvalidInputError } from '../../errors.ts';
import { BAD_ID, NOT_FOUND, tags, VIEWER } from './bulk-change-texts.ts';

/** The actions on a bulk change: retry its retryable failures, cancel its open devices. */

const TransitionResponse = Type.Object({ id: Type.Integer(), status: BulkChangeStatus, counts: Counts });

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

/** What a transition answers: 202 with the bulk change's new status and counts, or why not. */
function transitionResponses(accepted: string, conflict: string) {
  return {
    202: described(TransitionResponse, accepted),
    ...errorResponses({
      400: BAD_ID,
      401: UNAUTHENTICATED,
      403: `${VIEWER} Also: a cookie session's request from another site.`,
      404: NOT_FOUND,
      409: conflict,
    }),
  };
}

export function bulkChangeActionRoutes(app: TypedApp, services: Services): void {
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
        response: transitionResponses(
          'Accepted: the retryable devices are queued again.',
          'The bulk change is not finished with failures, or none of its failures can be fixed by a retry.',
        ),
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
        response: transitionResponses(
          'Accepted: the open devices are cancelled.',
          'Nothing to cancel now (finished, already being cancelled, or every device begun): `error.message` says which.',
        ),
      },
    },
    async (request, reply) =>
      reply.code(202).send(await services.lifecycle.cancel(principalOf(request), request.params.id)),
  );
}
