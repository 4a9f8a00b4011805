import { loadConfig, type Config } from '../../src/config.ts';
import { buildApp, type TypedApp } from '../../src/http/app.ts';
import { createServices } from '../../src/wiring.ts';
import type { TestDatabase } from './database.ts';

/** The real app over a test database, for `app.inject()` tests (no port). */
export async function buildTestApp(
  database: TestDatabase,
  env: Record<string, string> = {},
): Promise<TypedApp> {
  const config: Config = loadConfig({ LOG_LEVEL: 'silent', ...env });
  const services = createServices({ config, database });
  return buildApp({ services, cookieSecret: 'test-cookie-secret-0123456789abcdef', logLevel: 'silent' });
}
