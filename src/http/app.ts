import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Services } from '../wiring.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { registerAuthentication } from './auth.ts';
import { authRoutes } from './routes/auth.routes.ts';
import { bulkChangeRoutes } from './routes/bulk-changes.routes.ts';
import { carrierCallbackRoutes } from './routes/carrier-callbacks.routes.ts';
import { healthRoutes } from './routes/health.routes.ts';
import { legacyRoutes } from './routes/legacy.routes.ts';
import { referenceRoutes } from './routes/reference.routes.ts';
import { ErrorResponse } from './schemas/common.schemas.ts';
import { LegacyResponse } from './schemas/legacy.schemas.ts';

export type TypedApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface AppOptions {
  services: Services;
  /** Signs session cookies. */
  cookieSecret: string;
  logLevel?: string;
  /** Where clients reach this API (`PUBLIC_URL`), published as the OpenAPI `servers` entry. */
  publicUrl?: string;
  /** Adds routes of later modules (UI, carrier callbacks) without app.ts knowing them. */
  extraRoutes?: ((app: TypedApp) => void | Promise<void>)[];
}

/** Redacted wherever a request is logged: credentials never reach the logs. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["ocp-apim-subscription-key"]',
];

/** Bulk change bodies carry up to 100,000 identifiers (~2.5 MB as JSON); leave room, refuse the absurd. */
const BODY_LIMIT = 16 * 1024 * 1024;

export async function buildApp(options: AppOptions): Promise<TypedApp> {
  const app = Fastify({
    logger: { level: options.logLevel ?? 'info', redact: REDACT },
    bodyLimit: BODY_LIMIT,
    ajv: { customOptions: { allErrors: true, coerceTypes: 'array', removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  // Shared by many routes, which refer to them by `$id`: one definition for validation and
  // serialization, and one entry under `components.schemas` in the OpenAPI document.
  app.addSchema(ErrorResponse);
  app.addSchema(LegacyResponse);

  await app.register(cookie, { secret: options.cookieSecret });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'simbind API',
        version: '1',
        description:
          'Bulk assignment of IoT/M2M devices to customers. Errors: `{ error: { code, message, details? } }`.',
        // package.json says UNLICENSED: no use is granted; the URL is npm's definition of that term.
        license: {
          name: 'Proprietary (UNLICENSED)',
          url: 'https://docs.npmjs.com/cli/v10/configuring-npm/package-json#license',
        },
      },
      servers: [serverOf(options.publicUrl)],
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'simbind_session' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ session: [] }, { bearer: [] }],
    },
    // Shared schemas keep their `$id` as their component name (`ErrorResponse`, not `def-0`): generated
    // clients name their types after it.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  registerAuthentication(app, options.services.auth);
  healthRoutes(app, options.services.health);
  await legacyRoutes(app, options.services);
  await app.register(
    async (api: TypedApp) => {
      authRoutes(api, options.services);
      referenceRoutes(api, options.services);
      bulkChangeRoutes(api, options.services);
      carrierCallbackRoutes(api, options.services);
    },
    { prefix: '/api/v1' },
  );
  for (const register of options.extraRoutes ?? []) await register(app);

  return app;
}

/**
 * The OpenAPI `servers` entry. A loopback PUBLIC_URL (the default, `http://localhost:PORT`) means
 * nothing to a client elsewhere, so the document then names its own origin instead: a relative `/`
 * resolves against wherever the client fetched the document from, which is this server.
 */
function serverOf(publicUrl: string | undefined): { url: string; description: string } {
  if (publicUrl !== undefined && !isLoopback(publicUrl)) {
    return { url: publicUrl.replace(/\/+$/, ''), description: 'This deployment (PUBLIC_URL).' };
  }
  return {
    url: '/',
    description: 'The server this document was fetched from (PUBLIC_URL is a loopback address).',
  };
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || host.startsWith('127.');
}
