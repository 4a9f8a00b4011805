import type { TypedApp } from '../app.ts';
import type { HealthService } from '../../services/health.service.ts';

export function healthRoutes(app: TypedApp, health: HealthService): void {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const report = await health.readiness();
    return reply.code(report.ready ? 200 : 503).send(report);
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    return reply.type('text/plain; version=0.0.4').send(await health.metrics());
  });
}
