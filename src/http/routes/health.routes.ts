import type { TypedApp } from '../app.ts';
import type { HealthService } from '../../services/health.service.ts';

/**
 * Probes and metrics for the platform, not for API clients: left out of the OpenAPI document (they
 * answer no 4xx, and a generated client has no use for them). Their operationIds are fixed all the same.
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
    async (_request, reply) => {
      return reply.type('text/plain; version=0.0.4').send(await health.metrics());
    },
  );
}
