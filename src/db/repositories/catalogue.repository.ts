import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/**
 * The catalogues read from the partners' accounts (issue 11, item 3). A refresh replaces an
 * account's whole catalogue set-based: one statement for the fetch row, one that deletes the old
 * entries and one that inserts the new ones (from a JSON array, whatever its size); carrier plans
 * go to carrier_rate_plan of every service provider on the account, one upsert and one update.
 */

export type CatalogueKind =
  'service_type' | 'product' | 'package' | 'provider' | 'usage_plan_group' | 'communication_plan';

export interface CatalogueEntry {
  kind: CatalogueKind;
  remoteId: string;
  name: string;
  active: boolean;
  rate: number | null;
  details: Record<string, unknown>;
}

export interface CatalogueFetch {
  credentialsId: number;
  accountName: string;
  integration: string;
  fetchedAt: Date;
  counts: Record<string, number>;
}

/** Serialises refreshes of one account, so two at once cannot interleave their delete and insert. */
export async function lockAccountCatalogue(trx: Executor, credentialsId: number): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext('catalogue'), ${credentialsId}::int)`.execute(trx);
}

/** Replaces the account's cached catalogue (call inside a transaction, after the lock). */
export async function replaceCatalogue(
  trx: Executor,
  account: { tenantId: number; credentialsId: number; fetchedAt: Date; counts: Record<string, number> },
  entries: CatalogueEntry[],
): Promise<void> {
  await sql`
    INSERT INTO catalogue_fetch (credentials_id, tenant_id, fetched_at, counts)
    VALUES (${account.credentialsId}, ${account.tenantId}, ${account.fetchedAt}, ${JSON.stringify(account.counts)}::jsonb)
    ON CONFLICT (credentials_id) DO UPDATE SET fetched_at = excluded.fetched_at, counts = excluded.counts
  `.execute(trx);
  await sql`DELETE FROM catalogue_entry WHERE credentials_id = ${account.credentialsId}`.execute(trx);
  await sql`
    INSERT INTO catalogue_entry (credentials_id, kind, remote_id, name, active, rate, details, fetched_at)
    SELECT ${account.credentialsId}, e.kind, e."remoteId", e.name, e.active, e.rate, e.details, ${account.fetchedAt}
    FROM jsonb_to_recordset(${JSON.stringify(entries)}::jsonb)
         AS e(kind text, "remoteId" text, name text, active boolean, rate numeric, details jsonb)
    -- A partner listing one id twice: the first record wins rather than failing the refresh.
    ON CONFLICT (credentials_id, kind, remote_id) DO NOTHING
  `.execute(trx);
}

export async function findCatalogueFetch(
  db: Executor,
  tenantId: number,
  credentialsId: number,
): Promise<CatalogueFetch | undefined> {
  const { rows } = await sql<CatalogueFetch>`
    SELECT c.id AS "credentialsId", c.name AS "accountName", c.integration,
           f.fetched_at AS "fetchedAt", f.counts
    FROM catalogue_fetch f JOIN integration_credentials c ON c.id = f.credentials_id
    WHERE f.credentials_id = ${credentialsId} AND c.tenant_id = ${tenantId}
  `.execute(db);
  return rows[0];
}

/** The account's entries, active ones only unless asked, by kind then name. */
export async function listCatalogueEntries(
  db: Executor,
  credentialsId: number,
  options: { includeInactive?: boolean } = {},
): Promise<CatalogueEntry[]> {
  const { rows } = await sql<CatalogueEntry & { rate: string | null }>`
    SELECT kind, remote_id AS "remoteId", name, active, rate, details
    FROM catalogue_entry
    WHERE credentials_id = ${credentialsId} AND (active OR ${options.includeInactive === true})
    ORDER BY kind, lower(name), remote_id
  `.execute(db);
  return rows.map((r) => ({ ...r, rate: r.rate === null ? null : Number(r.rate) }));
}

export interface CarrierPlan {
  code: string;
  name: string;
  active: boolean;
  communicationPlan: string | null;
}

/**
 * The carrier's plans into carrier_rate_plan of every service provider on the account: new codes
 * inserted, known ones renamed and (re)activated as listed, and plans the carrier no longer lists
 * made inactive — never deleted, since devices, bulk changes and scheduled changes name them.
 * A communication plan the carrier does not name keeps the one simbind had.
 */
export async function upsertCarrierPlans(
  trx: Executor,
  account: { tenantId: number; credentialsId: number; listedAt: Date },
  plans: CarrierPlan[],
): Promise<{ providers: number; added: number; deactivated: number }> {
  const upserted = await sql<{ inserted: boolean }>`
    INSERT INTO carrier_rate_plan (tenant_id, service_provider_id, code, name, communication_plan, active, listed_at)
    SELECT sp.tenant_id, sp.id, p.code, p.name, p."communicationPlan", p.active, ${account.listedAt}
    FROM service_provider sp
    CROSS JOIN jsonb_to_recordset(${JSON.stringify(plans)}::jsonb)
         AS p(code text, name text, active boolean, "communicationPlan" text)
    WHERE sp.tenant_id = ${account.tenantId} AND sp.credentials_id = ${account.credentialsId}
    ON CONFLICT (service_provider_id, code) DO UPDATE
      SET name = excluded.name, active = excluded.active, listed_at = excluded.listed_at,
          communication_plan = coalesce(excluded.communication_plan, carrier_rate_plan.communication_plan)
    RETURNING (xmax = 0) AS inserted
  `.execute(trx);
  const deactivated = await sql`
    UPDATE carrier_rate_plan p SET active = false
    FROM service_provider sp
    WHERE sp.id = p.service_provider_id AND sp.tenant_id = ${account.tenantId}
      AND sp.credentials_id = ${account.credentialsId} AND p.active
      AND NOT p.code = ANY(${plans.map((plan) => plan.code)}::text[])
  `.execute(trx);
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM service_provider
    WHERE tenant_id = ${account.tenantId} AND credentials_id = ${account.credentialsId}
  `.execute(trx);
  return {
    providers: rows[0]!.n,
    added: upserted.rows.filter((r) => r.inserted).length,
    deactivated: Number(deactivated.numAffectedRows ?? 0),
  };
}

/**
 * What a submission's Rev.io options are checked against, in one query: the account's name and
 * whether it has a cached catalogue (no row: nothing cached, nothing to check), with its entries.
 */
export async function findRevCatalogueIndex(
  db: Executor,
  credentialsId: number,
): Promise<{ accountName: string; entries: Map<string, boolean> } | undefined> {
  const { rows } = await sql<{
    account: string;
    kind: string | null;
    remote_id: string | null;
    active: boolean | null;
  }>`
    SELECT c.name AS account, e.kind, e.remote_id, e.active
    FROM catalogue_fetch f
    JOIN integration_credentials c ON c.id = f.credentials_id
    LEFT JOIN catalogue_entry e ON e.credentials_id = f.credentials_id AND e.kind <> 'communication_plan'
    WHERE f.credentials_id = ${credentialsId}
  `.execute(db);
  if (rows.length === 0) return undefined;
  const entries = new Map<string, boolean>();
  for (const row of rows) if (row.kind !== null) entries.set(`${row.kind}:${row.remote_id}`, row.active!);
  return { accountName: rows[0]!.account, entries };
}
