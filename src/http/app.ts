import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Services } from '../wiring.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { registerAuthentication } from './auth.ts';
import { registerCsrfCheck } from './csrf.ts';
import { DOCS_CSP, registerSecurityHeaders } from './security-headers.ts';
import { serializeRequest } from './log-redaction.ts';
import { BODY_LIMITS } from './body-limits.ts';
import { refuseAnonymousBeforeBody } from './principal-gate.ts';
import { registerRequestObservability, requestIdOf } from './request-observability.ts';
import { auditRoutes } from './routes/audit.routes.ts';
import { usersRoutes } from './routes/users.routes.ts';
import { syncRoutes } from './routes/sync.routes.ts';
import { webhooksRoutes } from './routes/webhooks.routes.ts';
import { integrationsRoutes } from './routes/integrations.routes.ts';
import { catalogueRoutes } from './routes/catalogue.routes.ts';
import { onboardingRoutes } from './routes/onboarding.routes.ts';
import { authRoutes } from './routes/auth.routes.ts';
import { setupRoutes } from './routes/setup.routes.ts';
import { bulkChangeRoutes } from './routes/bulk-changes.routes.ts';
import { bulkChangeEventsRoutes, type EventStreamLimits } from './routes/bulk-change-events.routes.ts';
import { undoRoutes } from './routes/undo.routes.ts';
import { carrierCallbackRoutes } from './routes/carrier-callbacks.routes.ts';
import { healthRoutes } from './routes/health.routes.ts';
import { legacyRoutes } from './routes/legacy.routes.ts';
import { referenceRoutes } from './routes/reference.routes.ts';
import { ErrorResponse } from './schemas/common.schemas.ts';
import { LegacyResponse } from './schemas/legacy.schemas.ts';
import { buildValidator } from './validator-compiler.ts';

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
  /** Where log lines go instead of stdout (tests read them). */
  logStream?: { write(line: string): void };
  /** Where clients reach this API (`PUBLIC_URL`), published as the OpenAPI `servers` entry. */
  publicUrl?: string;
  /** Limits of the live progress streams (tests shorten them); default EVENT_STREAM_LIMITS. */
  eventStreams?: EventStreamLimits;
  /** Adds routes of later modules (UI, carrier callbacks) without app.ts knowing them. */
  extraRoutes?: ((app: TypedApp) => void | Promise<void>)[];
}

/** Redacted wherever a request is logged: credentials never reach the logs. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["ocp-apim-subscription-key"]',
];

/** A request slower than this is logged at `info` even when it succeeded. */
const SLOW_REQUEST_MS = 1_000;

/**
 * One line per request when it is answered: at `debug` when it succeeded quickly (the screens poll
 * every few seconds, which would flood the terminal at `info`), at `info` when it was refused (4xx)
 * or slow, at `error` when it failed (5xx). The request is serialized as everywhere: redacted.
 */
function logRequests(app: FastifyInstance): void {
  app.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    const responseTime = Math.round(reply.elapsedTime);
    // An event stream is long by design (bulk-change-events.routes.ts): never "slow".
    const streaming = String(reply.getHeader('content-type') ?? '').startsWith('text/event-stream');
    const slow = responseTime >= SLOW_REQUEST_MS && !streaming;
    const level = status >= 500 ? 'error' : status >= 400 || slow ? 'info' : 'debug';
    request.log[level]({ req: request, res: { statusCode: status }, responseTime }, 'request completed');
  });
}

export async function buildApp(options: AppOptions): Promise<TypedApp> {
  const app = Fastify({
    logger: {
      level: options.logLevel ?? 'info',
      redact: REDACT,
      // Secrets in a URL (the callback token in its path, `?token=` and the like) never reach a log line.
      serializers: { req: serializeRequest },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    // Per route where a route needs more or less (body-limits.ts).
    bodyLimit: BODY_LIMITS.default,
    // Coercion is for query strings, params and headers only: bodies are validated as sent.
    // strictNumbers: `?limit=1e400` coerces to Infinity, which is no integer (it reached PostgreSQL as
    // "Infinity" and failed with a 500).
    ajv: {
      customOptions: { allErrors: true, coerceTypes: 'array', removeAdditional: false, strictNumbers: true },
    },
    schemaController: { compilersFactory: { buildValidator } },
    // TRUST_PROXY: request.ip and request.protocol then follow a trusted proxy's X-Forwarded-* headers.
    trustProxy: options.services.auth.trustProxy,
    // One line per request instead of Fastify's two (logRequests above). Fastify 5.x deprecates the
    // top-level `disableRequestLogging` (FSTDEP023, printed by every start and test) for this.
    logController: new LogController({ disableRequestLogging: true }),
    // Each request's `reqId` in its log lines, echoed as X-Request-Id (request-observability.ts).
    genReqId: requestIdOf,
  }).withTypeProvider<TypeBoxTypeProvider>();
  logRequests(app);
  registerRequestObservability(app, options.services.metrics);

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  // Shared by many routes, which refer to them by `$id`: one definition for validation and
  // serialization, and one entry under `components.schemas` in the OpenAPI document.
  app.addSchema(ErrorResponse);
  app.addSchema(LegacyResponse);
  registerSecurityHeaders(app);

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
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CSP });

  registerCsrfCheck(app, { publicUrl: options.publicUrl });
  registerAuthentication(app, options.services.auth);
  refuseAnonymousBeforeBody(app);
  healthRoutes(app, options.services.health);
  await legacyRoutes(app, options.services);
  await app.register(
    async (api: TypedApp) => {
      authRoutes(api, options.services);
      setupRoutes(api, options.services);
      referenceRoutes(api, options.services);
      bulkChangeRoutes(api, options.services);
      bulkChangeEventsRoutes(api, options.services, options.eventStreams);
      undoRoutes(api, options.services);
      carrierCallbackRoutes(api, options.services);
      auditRoutes(api, options.services);
      usersRoutes(api, options.services);
      integrationsRoutes(api, options.services);
      catalogueRoutes(api, options.services);
      onboardingRoutes(api, options.services);
      webhooksRoutes(api, options.services);
      syncRoutes(api, options.services);
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
