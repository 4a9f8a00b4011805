import { Type } from '@fastify/type-provider-typebox';
import type { TypedApp } from '../app.ts';
import type { Services } from '../../wiring.ts';

/** ThingSpace posts plan-change results here (the URL we registered as its CarrierService callback). */
export function carrierCallbackRoutes(app: TypedApp, services: Services): void {
  app.post(
    '/carrier-callbacks/thingspace/:token',
    {
      schema: {
        tags: ['carrier callbacks'],
        summary: 'ThingSpace CarrierService callback',
        params: Type.Object({ token: Type.String({ minLength: 8, maxLength: 200 }) }),
        body: Type.Unknown(),
        response: { 200: Type.Object({ applied: Type.Integer() }) },
      },
    },
    async (request) => services.carrierCallbacks.receive(request.params.token, request.body),
  );
}
