import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { Role } from '../schema.ts';

/**
 * People of a tenant (issue 11): the administrators' view of users, their customer access, and the
 * writes that create, change, disable them or set a password. Sessions and tokens check `active`
 * on every request (auth.repository.ts), so disabling a user takes effect at once; the sessions are
 * deleted as well, so that re-enabling does not bring old ones back.
 */

export interface UserRow {
  id: number;
  email: string;
  name: string;
  role: Role;
  active: boolean;
  allCustomers: boolean;
  customerIds: number[];
  createdAt: Date;
}

const userColumns = sql`
  u.id, u.email, u.name, u.role, u.active, u.all_customers AS "allCustomers", u.created_at AS "createdAt",
  coalesce((SELECT array_agg(a.customer_id::int ORDER BY a.customer_id)
            FROM user_customer_access a WHERE a.user_id = u.id), '{}') AS "customerIds"`;

export async function listUsers(
  db: Executor,
  tenantId: number,
  page: { limit: number; afterId?: number },
): Promise<UserRow[]> {
  const { rows } = await sql<UserRow>`
    SELECT ${userColumns} FROM app_user u
    WHERE u.tenant_id = ${tenantId} AND u.id > ${page.afterId ?? 0}
    ORDER BY u.id LIMIT ${page.limit}
  `.execute(db);
  return rows;
}

export async function findUser(db: Executor, tenantId: number, id: number): Promise<UserRow | undefined> {
  const { rows } = await sql<UserRow>`
    SELECT ${userColumns} FROM app_user u WHERE u.tenant_id = ${tenantId} AND u.id = ${id}
  `.execute(db);
  return rows[0];
}

export async function emailTaken(db: Executor, email: string): Promise<boolean> {
  const { rows } = await sql`SELECT 1 FROM app_user WHERE lower(email) = lower(${email})`.execute(db);
  return rows.length > 0;
}

/** How many of these ids are customers of the tenant (to refuse others' ids). */
export async function countTenantCustomers(db: Executor, tenantId: number, ids: number[]): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM customer WHERE tenant_id = ${tenantId} AND id = ANY(${ids}::bigint[])
  `.execute(db);
  return rows[0]!.n;
}

export async function insertUser(
  db: Executor,
  user: {
    tenantId: number;
    email: string;
    name: string;
    role: Role;
    passwordHash: string;
    allCustomers: boolean;
  },
): Promise<number> {
  const row = await db
    .insertInto('app_user')
    .values({
      tenant_id: user.tenantId,
      email: user.email,
      name: user.name,
      role: user.role,
      password_hash: user.passwordHash,
      all_customers: user.allCustomers,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function updateUser(
  db: Executor,
  tenantId: number,
  id: number,
  change: { name?: string; role?: Role; active?: boolean; allCustomers?: boolean },
): Promise<void> {
  const values = {
    ...(change.name !== undefined ? { name: change.name } : {}),
    ...(change.role !== undefined ? { role: change.role } : {}),
    ...(change.active !== undefined ? { active: change.active } : {}),
    ...(change.allCustomers !== undefined ? { all_customers: change.allCustomers } : {}),
  };
  if (Object.keys(values).length === 0) return;
  await db
    .updateTable('app_user')
    .set(values)
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

/** Replaces the user's customer list with `customerIds`, in two statements. */
export async function setCustomerAccess(db: Executor, userId: number, customerIds: number[]): Promise<void> {
  await sql`DELETE FROM user_customer_access WHERE user_id = ${userId}`.execute(db);
  if (customerIds.length === 0) return;
  await sql`
    INSERT INTO user_customer_access (user_id, customer_id)
    SELECT ${userId}, c FROM unnest(${customerIds}::bigint[]) AS c
  `.execute(db);
}

/** Every session of the user ends (disabled, password changed), except `keepIdHash`'s. */
export async function deleteSessions(db: Executor, userId: number, keepIdHash?: Buffer): Promise<void> {
  await sql`
    DELETE FROM user_session WHERE user_id = ${userId}
      AND (${keepIdHash ?? null}::bytea IS NULL OR id_hash <> ${keepIdHash ?? null}::bytea)
  `.execute(db);
}

export async function setPasswordHash(db: Executor, userId: number, passwordHash: string): Promise<void> {
  await db.updateTable('app_user').set({ password_hash: passwordHash }).where('id', '=', userId).execute();
}

export async function passwordHashOf(db: Executor, userId: number): Promise<string | undefined> {
  const row = await db
    .selectFrom('app_user')
    .select('password_hash')
    .where('id', '=', userId)
    .executeTakeFirst();
  return row?.password_hash;
}

export async function insertTenant(db: Executor, tenant: { slug: string; name: string }): Promise<number> {
  const row = await db.insertInto('tenant').values(tenant).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

export async function tenantSlugTaken(db: Executor, slug: string): Promise<boolean> {
  const row = await db.selectFrom('tenant').select('id').where('slug', '=', slug).executeTakeFirst();
  return row !== undefined;
}

/** The user with this e-mail (any tenant; e-mails are unique), for the CLI. */
export async function findUserByEmail(
  db: Executor,
  email: string,
): Promise<{ id: number; tenantId: number } | undefined> {
  const row = await db
    .selectFrom('app_user')
    .select(['id', 'tenant_id'])
    .where(sql<boolean>`lower(email) = lower(${email})`)
    .executeTakeFirst();
  return row && { id: row.id, tenantId: row.tenant_id };
}

export async function tenantIdBySlug(db: Executor, slug: string): Promise<number | undefined> {
  const row = await db.selectFrom('tenant').select('id').where('slug', '=', slug).executeTakeFirst();
  return row?.id;
}
