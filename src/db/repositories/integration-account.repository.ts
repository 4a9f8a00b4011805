import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { CarrierIntegration, Integration, PortalType } from '../schema.ts';

/**
 * Integration accounts as administrators see and edit them (issue 11). Nothing here selects
 * `secrets`: the one reader for use is credentials.repository.ts. Writes take secrets already sealed.
 */

export interface IntegrationAccountRow {
  id: number;
  integration: Integration;
  name: string;
  baseUrl: string;
  settings: Record<string, string>;
  rateLimitRequests: number | null;
  rateLimitWindowMs: number | null;
  rateLimitConcurrency: number | null;
  secretsSetAt: Date | null;
  secretsSetBy: { id: number; name: string } | null;
  createdAt: Date;
}

export async function listIntegrationAccounts(
  db: Executor,
  tenantId: number,
  id?: number,
): Promise<IntegrationAccountRow[]> {
  const { rows } = await sql<IntegrationAccountRow>`
    SELECT c.id, c.integration, c.name, c.base_url AS "baseUrl", c.settings,
           c.rate_limit_requests AS "rateLimitRequests", c.rate_limit_window_ms AS "rateLimitWindowMs",
           c.rate_limit_concurrency AS "rateLimitConcurrency", c.secrets_set_at AS "secretsSetAt",
           CASE WHEN u.id IS NOT NULL THEN jsonb_build_object('id', u.id, 'name', u.name) END AS "secretsSetBy",
           c.created_at AS "createdAt"
    FROM integration_credentials c LEFT JOIN app_user u ON u.id = c.secrets_set_by
    WHERE c.tenant_id = ${tenantId} AND (${id ?? null}::bigint IS NULL OR c.id = ${id ?? null}::bigint)
    ORDER BY c.id
  `.execute(db);
  return rows;
}

export interface AccountWrite {
  name?: string;
  baseUrl?: string;
  settings?: Record<string, string>;
  /** Sealed. */
  secrets?: unknown;
  rateLimit?: { requests: number; windowMs: number; concurrency?: number } | null;
}

export async function insertIntegrationAccount(
  db: Executor,
  account: { tenantId: number; integration: Integration; userId: number } & Required<
    Pick<AccountWrite, 'name' | 'baseUrl' | 'settings' | 'secrets'>
  > &
    Pick<AccountWrite, 'rateLimit'>,
): Promise<number> {
  const row = await db
    .insertInto('integration_credentials')
    .values({
      tenant_id: account.tenantId,
      integration: account.integration,
      name: account.name,
      base_url: account.baseUrl,
      settings: JSON.stringify(account.settings),
      secrets: JSON.stringify(account.secrets),
      rate_limit_requests: account.rateLimit?.requests ?? null,
      rate_limit_window_ms: account.rateLimit?.windowMs ?? null,
      rate_limit_concurrency: account.rateLimit?.concurrency ?? null,
      secrets_set_at: new Date(),
      secrets_set_by: account.userId,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function updateIntegrationAccount(
  db: Executor,
  tenantId: number,
  id: number,
  userId: number,
  change: AccountWrite,
): Promise<void> {
  await db
    .updateTable('integration_credentials')
    .set({
      updated_at: new Date(),
      ...(change.name !== undefined ? { name: change.name } : {}),
      ...(change.baseUrl !== undefined ? { base_url: change.baseUrl } : {}),
      ...(change.settings !== undefined ? { settings: JSON.stringify(change.settings) } : {}),
      ...(change.secrets !== undefined
        ? { secrets: JSON.stringify(change.secrets), secrets_set_at: new Date(), secrets_set_by: userId }
        : {}),
      ...(change.rateLimit !== undefined
        ? {
            rate_limit_requests: change.rateLimit?.requests ?? null,
            rate_limit_window_ms: change.rateLimit?.windowMs ?? null,
            rate_limit_concurrency: change.rateLimit?.concurrency ?? null,
          }
        : {}),
    })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .execute();
}

export async function accountNameTaken(db: Executor, tenantId: number, name: string, exceptId?: number) {
  const row = await db
    .selectFrom('integration_credentials')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('name', '=', name)
    .executeTakeFirst();
  return row !== undefined && row.id !== exceptId;
}

export async function insertServiceProvider(
  db: Executor,
  provider: {
    tenantId: number;
    name: string;
    integration: CarrierIntegration;
    portalType: PortalType;
    credentialsId: number;
  },
): Promise<number> {
  const row = await db
    .insertInto('service_provider')
    .values({
      tenant_id: provider.tenantId,
      name: provider.name,
      integration: provider.integration,
      portal_type: provider.portalType,
      credentials_id: provider.credentialsId,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function serviceProviderNameTaken(
  db: Executor,
  tenantId: number,
  name: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('service_provider')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('name', '=', name)
    .executeTakeFirst();
  return row !== undefined;
}
