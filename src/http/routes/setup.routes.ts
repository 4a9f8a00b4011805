import { Type } from '@fastify/type-provider-typebox';
import type { TypedApp } from '../app.ts';
import { BODY_LIMITS } from '../body-limits.ts';
import { described, errorResponses, Text } from '../schemas/common.schemas.ts';
import { UserResponse } from '../schemas/auth.schemas.ts';
import { MIN_PASSWORD_LENGTH } from '../../services/users.service.ts';
import type { Services } from '../../wiring.ts';
import { setSessionCookie } from './auth.routes.ts';

/**
 * The first-run screen's API (issue 11, item 1): public, as nobody can sign in before it; guarded
 * by the setup code printed on the server's terminal, and useless once a tenant exists.
 */

const SetupBody = Type.Object(
  {
    setupCode: Text({
      minLength: 1,
      maxLength: 100,
      description: "Printed on simbind's terminal at start while no tenant exists.",
    }),
    tenantName: Text({ minLength: 1, maxLength: 200, description: 'Your organisation, e.g. "Acme IoT".' }),
    adminEmail: Text({ minLength: 1, maxLength: 320 }),
    adminName: Type.Optional(Text({ maxLength: 200 })),
    password: Text({
      minLength: 1,
      maxLength: 1024,
      description: `The admin's password: at least ${MIN_PASSWORD_LENGTH} characters.`,
    }),
  },
  {
    additionalProperties: false,
    examples: [
      {
        setupCode: '0f3a9c1e5b7d2f4a6c8e0b1d3f5a7c9e',
        tenantName: 'Acme IoT',
        adminEmail: 'admin@acme.example',
        adminName: 'Ada Admin',
        password: 'correct horse battery staple',
      },
    ],
  },
);

export function setupRoutes(app: TypedApp, { setup, auth }: Services): void {
  const tags = ['auth'];

  app.get(
    '/setup',
    {
      config: { public: true },
      schema: {
        // A probe for the screen, like /healthz: it cannot be refused (no parameters, no caller),
        // so it has no 4xx to document; left out of the OpenAPI document as the probes are.
        hide: true,
        tags,
        operationId: 'getSetupState',
        summary: 'Whether simbind still needs its first tenant (the first-run screen)',
        security: [],
        response: {
          200: described(
            Type.Object({ needed: Type.Boolean() }),
            '`needed`: no tenant exists yet (nothing else is said).',
          ),
        },
      },
    },
    async () => ({ needed: await setup.needed() }),
  );

  app.post(
    '/setup',
    {
      config: { public: true },
      bodyLimit: BODY_LIMITS.credentials,
      schema: {
        tags,
        operationId: 'setUp',
        summary: 'Create the first tenant and its admin, then sign the admin in',
        description:
          'Only while no tenant exists, and only with a setup code that simbind printed on its terminal at ' +
          'start. Wrong codes are counted per client address like failed sign-ins. Sets the session cookie. ' +
          'The command-line way is `simbind init`.',
        security: [],
        body: SetupBody,
        response: {
          201: described(UserResponse, 'Created and signed in: the session cookie is set.'),
          ...errorResponses({
            400: 'The body is invalid (a password too short, a bad e-mail): `error.details` names the fields.',
            403: 'The setup code is incorrect.',
            409: 'simbind is already set up (a tenant exists): sign in instead.',
            429: 'Too many wrong setup codes from this address; `Retry-After` says how many seconds to wait.',
          }),
        },
      },
    },
    async (request, reply) => {
      const { admin } = await setup.setUp({ ...request.body, clientAddress: request.ip });
      const signIn = await auth.login({
        email: admin.email,
        password: request.body.password,
        clientAddress: request.ip,
      });
      setSessionCookie(request, reply, signIn);
      return reply.code(201).send({ user: signIn.user });
    },
  );
}
