import { Type } from '@fastify/type-provider-typebox';
import type { TypedApp } from '../app.ts';
import { described, errorResponses } from '../schemas/common.schemas.ts';
import type { Services } from '../../wiring.ts';

/** ThingSpace posts plan-change results here (the URL we registered as its CarrierService callback). */
export function carrierCallbackRoutes(app: TypedApp, services: Services): void {
  app.post(
    '/carrier-callbacks/thingspace/:token',
    {
      schema: {
        tags: ['carrier callbacks'],
        operationId: 'receiveThingSpaceCallback',
        summary: 'ThingSpace CarrierService callback',
        description:
          'Called by ThingSpace, not by clients: the secret token in the path, registered with ThingSpace, ' +
          'is the authentication.',
        // The path token authenticates ThingSpace; it sends neither cookie nor bearer token.
        security: [],
        params: Type.Object({ token: Type.String({ minLength: 8, maxLength: 200 }) }),
        body: Type.Unknown(),
        response: {
          200: described(
            Type.Object({ applied: Type.Integer() }),
            'Taken: `applied` counts the devices whose waiting plan change it settled (0 when a status poll already had).',
          ),
          ...errorResponses({
            400: 'The body is not a ThingSpace callback (`requestId`, `status`, `deviceIds`).',
            404: 'The token is not the one simbind registered.',
          }),
        },
      },
    },
    async (request) => services.carrierCallbacks.receive(request.params.token, request.body),
  );
}
