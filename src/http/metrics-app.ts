import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController } from 'fastify';
import type { Services } from '../wiring.ts';
import type { TypedApp } from './app.ts';
import { errorHandler, notFoundHandler } from './error-handler.ts';
import { serializeRequest } from './log-redaction.ts';
import { registerRequestObservability, requestIdOf } from './request-observability.ts';
import { healthRoutes } from './routes/health.routes.ts';
import { registerSecurityHeaders } from './security-headers.ts';

/**
 * What a `simbind worker` serves on METRICS_PORT: `/metrics` (this process's counters: each
 * worker counts only its own chunks and calls, so Prometheus scrapes every process) and the
 * probes, with exactly the API's routes and rules (METRICS_TOKEN). Nothing else: no API, no UI.
 */
export async function buildMetricsApp(options: {
  services: Pick<Services, 'health' | 'metrics'>;
  logLevel?: string;
}): Promise<TypedApp> {
  const app = Fastify({
    logger: {
      level: options.logLevel ?? 'info',
      redact: ['req.headers.authorization', 'req.headers.cookie'],
      serializers: { req: serializeRequest },
    },
    genReqId: requestIdOf,
    // Scrapes every 15 s would flood the log; refusals still answer 401/404 to the scraper. (Through
    // a LogController: the top-level option is deprecated, FSTDEP023.)
    logController: new LogController({ disableRequestLogging: true }),
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  registerSecurityHeaders(app);
  registerRequestObservability(app, options.services.metrics);
  healthRoutes(app, options.services.health);
  await app.ready();
  return app;
}
