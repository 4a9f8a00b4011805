import type { TypedApp } from '../app.ts';
import { principalOf } from '../auth.ts';
import { BODY_LIMITS } from '../body-limits.ts';
import { described, errorResponses, IdParams, UNAUTHENTICATED } from '../schemas/common.schemas.ts';
import {
  IdempotencyHeaders,
  UndoBody,
  UndoDryRunResponse,
  UndoResponse,
} from '../schemas/bulk-change.schemas.ts';
import type { Services } from '../../wiring.ts';
import { linksOf } from './bulk-changes.routes.ts';

/** `POST /bulk-changes/:id/undo`: an adapter over the undo service (issue 16). */
export function undoRoutes(app: TypedApp, services: Services): void {
  app.post(
    '/bulk-changes/:id/undo',
    {
      bodyLimit: BODY_LIMITS.none,
      schema: {
        tags: ['bulk changes'],
        operationId: 'undoBulkChange',
        summary: 'Undo a finished bulk change',
        description:
          'Creates a bulk change of type `undo`, linked to this one, with one work order per device it changed: ' +
          'ownership, site, customer and carrier plans go back to what they were, its Rev.io service lines and ' +
          'products are disconnected (dated today), and its plan changes that have not run are cancelled. A device ' +
          'changed since (by a later bulk change or an edit) is left alone: its work order ends ERROR / eligibility ' +
          'naming what changed it. With `{ "dryRun": true }`, answers 200 with what would be done and writes ' +
          'nothing. A repeated `Idempotency-Key` answers the undo it created the first time.',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: UndoBody,
        response: {
          200: described(UndoDryRunResponse, 'Dry run: what the undo would do; nothing was written.'),
          202: described(UndoResponse, 'Accepted: the undo is recorded and its devices are queued.'),
          ...errorResponses({
            400: 'The id is not a positive integer, or the body has a field other than `dryRun`.',
            401: UNAUTHENTICATED,
            403: "The caller is a viewer. Also: a cookie session's request from another site.",
            404: 'No such bulk change among the customers the caller may access.',
            409: 'The bulk change is an undo, is still running (cancel it first), is already undone, or changed no device: `error.message` says which.',
            422: 'The Idempotency-Key was already used with another request.',
          }),
        },
      },
    },
    async (request, reply) => {
      const result = await services.undos.submit(principalOf(request), request.params.id, {
        dryRun: (request.body as { dryRun?: boolean } | null)?.dryRun === true,
        idempotencyKey: request.headers['idempotency-key'],
      });
      if ('dryRun' in result) return reply.code(200).send(result);
      const { replayed: _replayed, ...accepted } = result;
      return reply.code(202).send({ ...accepted, links: linksOf(result.id) });
    },
  );
}
