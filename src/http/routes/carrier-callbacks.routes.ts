import { Type } from '@fastify/type-provider-typebox';
import type { TypedApp } from '../app.ts';
import { BODY_LIMITS } from '../body-limits.ts';
import { described, errorResponses } from '../schemas/common.schemas.ts';
import type { Services } from '../../wiring.ts';

/**
 * ThingSpace posts plan-change results here (the URL we registered as an account's CarrierService
 * callback). The path token names the account; the request log shows the path with it redacted.
 */
export function carrierCallbackRoutes(app: TypedApp, services: Services): void {
  app.post(
    '/carrier-callbacks/thingspace/:token',
    {
      // The path token is the authentication (checked by the service): no caller is signed in.
      config: { public: true },
      bodyLimit: BODY_LIMITS.default,
      schema: {
        tags: ['carrier callbacks'],
        operationId: 'receiveThingSpaceCallback',
        summary: 'ThingSpace CarrierService callback',
        description:
          'Called by ThingSpace, not by clients: the secret token in the path, registered with one ' +
          "ThingSpace account, is the authentication. A result settles only plan changes sent with that account's " +
          'credentials, and a `Failed` one counts only once ThingSpace confirms it through its request status.',
        // The path token authenticates ThingSpace; it sends neither cookie nor bearer token.
        security: [],
        params: Type.Object({ token: Type.String({ minLength: 8, maxLength: 200 }) }),
        body: Type.Unknown(),
        response: {
          200: described(
            Type.Object({ applied: Type.Integer() }),
            'Taken: `applied` counts the devices whose waiting plan change it settled (0 when a status poll already ' +
              'had, when the request is not one of this account, or when ThingSpace does not confirm a failure).',
          ),
          ...errorResponses({
            400: 'The body is not a ThingSpace callback (`requestId`, `status`, `deviceIds`).',
            404: 'The token is not one simbind registered for a ThingSpace account.',
          }),
        },
      },
    },
    async (request) => services.carrierCallbacks.receive(request.params.token, request.body),
  );
}
