import type { Database } from '../../src/db/database.ts';
import { insertApiToken } from '../../src/db/repositories/auth.repository.ts';
import { generateApiToken } from '../../src/services/api-tokens.ts';

/** An API token for the user with this e-mail, as `inject()` headers. */
export async function authHeaders(db: Database, email: string): Promise<{ authorization: string }> {
  const user = await db
    .selectFrom('app_user')
    .select(['id', 'tenant_id'])
    .where('email', '=', email)
    .executeTakeFirstOrThrow();
  const { token, hash, prefix } = generateApiToken();
  await insertApiToken(db, {
    tenantId: user.tenant_id,
    userId: user.id,
    name: 'test',
    tokenHash: hash,
    tokenPrefix: prefix,
  });
  return { authorization: `Bearer ${token}` };
}
