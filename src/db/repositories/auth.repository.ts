import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { Role } from '../schema.ts';
import type { Principal } from '../../services/principal.ts';

/**
 * Queries behind sign-in: users, sessions and API tokens (failed sign-ins are counted in
 * login-attempt.repository.ts). Sessions and tokens are looked up on every request, so each lookup
 * is ONE statement by primary key / unique index; the `last_seen_at` / `last_used_at` touch rides along in a data-modifying CTE and writes
 * only when the stored value is more than a minute old, so a busy client costs at most one row
 * update a minute instead of one per request.
 */

export interface UserProfile {
  id: number;
  email: string;
  name: string;
  role: Role;
  tenant: { id: number; slug: string; name: string };
  allCustomers: boolean;
}

export interface LoginUser extends UserProfile {
  active: boolean;
  passwordHash: string;
}

// node-postgres parses int8 but not int8[] to numbers (database.ts registers only the former):
// the ids arrive as strings and are mapped below.
type PrincipalRow = Omit<Principal, 'via' | 'customerIds'> & { customerIds: (string | number)[] };

const TOUCH_AFTER = sql`interval '1 minute'`;

const principalColumns = sql`
  u.id AS "userId", u.tenant_id AS "tenantId", u.email, u.name, u.role, u.all_customers AS "allCustomers",
  coalesce((SELECT array_agg(a.customer_id ORDER BY a.customer_id)
            FROM user_customer_access a WHERE a.user_id = u.id), '{}') AS "customerIds"`;

/** The principal behind an API token hash: one statement, customer access list included. */
export async function findPrincipalByTokenHash(
  db: Executor,
  tokenHash: Buffer,
): Promise<Principal | undefined> {
  const { rows } = await sql<PrincipalRow & { tokenId: number; lastUsedAt: Date | null }>`
    WITH found AS (
      SELECT t.id AS "tokenId", t.last_used_at AS "lastUsedAt", ${principalColumns}
      FROM api_token t JOIN app_user u ON u.id = t.user_id
      WHERE t.token_hash = ${tokenHash} AND t.revoked_at IS NULL
        AND (t.expires_at IS NULL OR t.expires_at > now()) AND u.active
    ), touched AS (
      UPDATE api_token SET last_used_at = now()
      FROM found
      WHERE api_token.id = found."tokenId"
        AND (found."lastUsedAt" IS NULL OR found."lastUsedAt" < now() - ${TOUCH_AFTER})
    )
    SELECT * FROM found
  `.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const { tokenId: _id, lastUsedAt: _used, ...principal } = row;
  return { ...principal, customerIds: principal.customerIds.map(Number), via: 'token' };
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

export interface ApiTokenSummary {
  id: number;
  name: string;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
}

/** A user's tokens that are not revoked, newest first; `limit` rows after the `beforeId` cursor. */
export async function listApiTokens(
  db: Executor,
  query: { userId: number; limit: number; beforeId?: number },
): Promise<ApiTokenSummary[]> {
  let q = db
    .selectFrom('api_token')
    .select([
      'id',
      'name',
      'token_prefix as prefix',
      'created_at as createdAt',
      'last_used_at as lastUsedAt',
      'expires_at as expiresAt',
    ])
    .where('user_id', '=', query.userId)
    .where('revoked_at', 'is', null);
  if (query.beforeId !== undefined) q = q.where('id', '<', query.beforeId);
  return q.orderBy('id', 'desc').limit(query.limit).execute();
}

/**
 * Revokes a token (idempotent: an already revoked one keeps its first revocation time). With
 * `userId`, only that user's token. Returns false when no such token exists.
 */
export async function revokeApiToken(db: Executor, token: { id: number; userId?: number }): Promise<boolean> {
  let q = db
    .updateTable('api_token')
    .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
    .where('id', '=', token.id);
  if (token.userId !== undefined) q = q.where('user_id', '=', token.userId);
  const row = await q.returning('id').executeTakeFirst();
  return row !== undefined;
}

function profileQuery(db: Executor) {
  return db
    .selectFrom('app_user as u')
    .innerJoin('tenant as t', 't.id', 'u.tenant_id')
    .select([
      'u.id',
      'u.email',
      'u.name',
      'u.role',
      'u.all_customers as allCustomers',
      'u.active',
      'u.password_hash as passwordHash',
      't.id as tenantId',
      't.slug as tenantSlug',
      't.name as tenantName',
    ]);
}

type ProfileRow = Awaited<ReturnType<ReturnType<typeof profileQuery>['executeTakeFirstOrThrow']>>;

function toLoginUser(row: ProfileRow): LoginUser {
  const { tenantId, tenantSlug, tenantName, ...user } = row;
  return { ...user, tenant: { id: tenantId, slug: tenantSlug, name: tenantName } };
}

/** The user signing in with this e-mail, case-insensitively (the unique index is on lower(email)). */
export async function findLoginUser(db: Executor, email: string): Promise<LoginUser | undefined> {
  const row = await profileQuery(db)
    .where(sql<string>`lower(u.email)`, '=', sql<string>`lower(${email})`)
    .executeTakeFirst();
  return row && toLoginUser(row);
}

export async function findUserProfile(db: Executor, userId: number): Promise<UserProfile | undefined> {
  const row = await profileQuery(db)
    .where('u.id', '=', userId)
    .where('u.active', '=', true)
    .executeTakeFirst();
  if (!row) return undefined;
  const { active: _active, passwordHash: _hash, ...profile } = toLoginUser(row);
  return profile;
}

// ---- sessions -------------------------------------------------------------------------------

/** Stores a new session (by the hash of its id); answers its expiry, in the database's clock. */
export async function insertSession(
  db: Executor,
  session: { idHash: Buffer; tenantId: number; userId: number; ttlHours: number },
): Promise<Date> {
  const row = await db
    .insertInto('user_session')
    .values({
      id_hash: session.idHash,
      tenant_id: session.tenantId,
      user_id: session.userId,
      expires_at: sql<Date>`now() + ${session.ttlHours} * interval '1 hour'`,
    })
    .returning('expires_at')
    .executeTakeFirstOrThrow();
  return row.expires_at;
}

/** The principal of an unexpired session of an active user; touches `last_seen_at` (see top). */
export async function findPrincipalBySessionHash(
  db: Executor,
  idHash: Buffer,
): Promise<Principal | undefined> {
  const { rows } = await sql<PrincipalRow & { lastSeenAt: Date }>`
    WITH found AS (
      SELECT s.last_seen_at AS "lastSeenAt", ${principalColumns}
      FROM user_session s JOIN app_user u ON u.id = s.user_id
      WHERE s.id_hash = ${idHash} AND s.expires_at > now() AND u.active
    ), touched AS (
      UPDATE user_session SET last_seen_at = now()
      FROM found
      WHERE user_session.id_hash = ${idHash} AND found."lastSeenAt" < now() - ${TOUCH_AFTER}
    )
    SELECT * FROM found
  `.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const { lastSeenAt: _seen, ...principal } = row;
  return { ...principal, customerIds: principal.customerIds.map(Number), via: 'session' };
}

export async function deleteSession(db: Executor, idHash: Buffer): Promise<void> {
  await db.deleteFrom('user_session').where('id_hash', '=', idHash).execute();
}

/** One set-based DELETE over the expires_at index; returns how many went. */
export async function deleteExpiredSessions(db: Executor): Promise<number> {
  const result = await db
    .deleteFrom('user_session')
    .where('expires_at', '<=', sql<Date>`now()`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
