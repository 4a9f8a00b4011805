import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { Principal } from '../../services/principal.ts';

/** The principal behind an API token hash: one query, customer access list included. */
export async function findPrincipalByTokenHash(
  db: Executor,
  tokenHash: Buffer,
): Promise<Principal | undefined> {
  const row = await db
    .selectFrom('api_token as t')
    .innerJoin('app_user as u', 'u.id', 't.user_id')
    .select([
      'u.id as userId',
      'u.tenant_id as tenantId',
      'u.email',
      'u.name',
      'u.role',
      'u.all_customers as allCustomers',
      sql<number[]>`coalesce((SELECT array_agg(a.customer_id ORDER BY a.customer_id)
                              FROM user_customer_access a WHERE a.user_id = u.id), '{}')`.as('customerIds'),
    ])
    .where('t.token_hash', '=', tokenHash)
    .where('t.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', sql<Date>`now()`)]))
    .where('u.active', '=', true)
    .executeTakeFirst();
  return row ? { ...row, via: 'token' } : undefined;
}

export async function insertApiToken(
  db: Executor,
  token: {
    tenantId: number;
    userId: number;
    name: string;
    tokenHash: Buffer;
    tokenPrefix: string;
    expiresAt?: Date;
  },
): Promise<number> {
  const row = await db
    .insertInto('api_token')
    .values({
      tenant_id: token.tenantId,
      user_id: token.userId,
      name: token.name,
      token_hash: token.tokenHash,
      token_prefix: token.tokenPrefix,
      expires_at: token.expiresAt ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}
