import type { Executor } from '../database.ts';

/**
 * The ONE query that reads `integration_credentials.secrets`. Its result goes to the external
 * clients only; API responses, logs and change logs never see it.
 */
export async function findCredentialsWithSecrets(db: Executor, id: number) {
  return db
    .selectFrom('integration_credentials')
    .select([
      'id',
      'tenant_id',
      'integration',
      'base_url',
      'settings',
      'secrets',
      'rate_limit_requests',
      'rate_limit_window_ms',
      'rate_limit_concurrency',
    ])
    .where('id', '=', id)
    .executeTakeFirst();
}
