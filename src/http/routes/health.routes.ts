import { UnauthenticatedError } from '../../errors.ts';
import type { TypedApp } from '../app.ts';
import type { HealthService } from '../../services/health.service.ts';

/**
 * Probes and metrics for the platform, not for API clients: left out of the OpenAPI document (a
 * generated client has no use for them). Their operationIds are fixed all the same. The probes are
 * open; `/metrics` counts every tenant's work, so it is the scraper's only (METRICS_TOKEN).
 */
export function healthRoutes(app: TypedApp, health: HealthService): void {
  app.get(
    '/healthz',
    { schema: { hide: true, operationId: 'getHealth', summary: 'Liveness' } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        hide: true,
        operationId: 'getReadiness',
        summary: 'Readiness: database reachable, migrations current',
      },
    },
    async (_request, reply) => {
      const report = await health.readiness();
      return reply.code(report.ready ? 200 : 503).send(report);
    },
  );

  app.get(
    '/metrics',
    { schema: { hide: true, operationId: 'getMetrics', summary: 'Prometheus metrics' } },
    async (request, reply) => {
      const access = health.metricsAccess({
        authorization: request.headers.authorization,
        forwarded:
          request.headers['x-forwarded-for'] !== undefined || request.headers.forwarded !== undefined,
      });
      // Without METRICS_TOKEN on a reachable server, no token could open it: answered as absent.
      if (access === 'hidden') return reply.callNotFound();
      if (access === 'unauthenticated') {
        reply.header('www-authenticate', 'Bearer realm="metrics"');
        throw new UnauthenticatedError('/metrics needs Authorization: Bearer <METRICS_TOKEN>.');
      }
      return reply.type('text/plain; version=0.0.4').send(await health.metrics());
    },
  );
}
