import { loadConfig, type Config } from '../../src/config.ts';
import { buildApp, type TypedApp } from '../../src/http/app.ts';
import { startQueue, type JobQueue } from '../../src/jobs/queue.ts';
import { createServices, type Services } from '../../src/wiring.ts';
import type { TestDatabase } from './database.ts';

export interface TestApp extends TypedApp {
  services: Services;
  queue: JobQueue;
}

/**
 * The real app over a test database, for `app.inject()` tests (no port), with a real pg-boss
 * queue in that database (no workers: jobs stay queued for the test to inspect or run).
 */
export async function buildTestApp(
  database: TestDatabase,
  env: Record<string, string> = {},
): Promise<TypedApp> {
  return buildTestAppWithServices(database, env);
}

export async function buildTestAppWithServices(
  database: TestDatabase,
  env: Record<string, string> = {},
): Promise<TestApp> {
  // Test receivers listen on loopback, which production refuses by default.
  const config: Config = loadConfig({ LOG_LEVEL: 'silent', WEBHOOK_ALLOW_ADDRESSES: 'loopback', ...env });
  const queue = await startQueue({ connectionString: database.url, pollSeconds: 1, supervise: false });
  const services = createServices({ config, database, queue });
  const app = await buildApp({
    services,
    cookieSecret: 'test-cookie-secret-0123456789abcdef',
    logLevel: 'silent',
  });
  app.addHook('onClose', async () => queue.stop());
  return Object.assign(app, { services, queue });
}
