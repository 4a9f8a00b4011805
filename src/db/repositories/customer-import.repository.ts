import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { CustomerKind } from '../schema.ts';

/**
 * The customer CSV import's queries (issue 11, item 5): a fixed number of statements whatever the
 * number of rows — one lock, two reads, one insert of customers with their default sites, one update.
 */

/**
 * Serialises imports of one tenant until the transaction ends: two uploads of the same file at once
 * would otherwise both find an AMOP customer missing (names are not unique in the table) and both
 * create it. The second waits, then finds the first one's customers and reports them unchanged.
 */
export async function lockCustomerImport(trx: Executor, tenantId: number): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtextextended('simbind.customer_import:' || ${tenantId}::text, 0))`.execute(
    trx,
  );
}

export interface RevAccountRow {
  id: number;
  name: string;
}

/** The tenant's Rev.io accounts: what a row's `rev_account` may name. */
export async function listRevAccounts(db: Executor, tenantId: number): Promise<RevAccountRow[]> {
  return db
    .selectFrom('integration_credentials')
    .select(['id', 'name'])
    .where('tenant_id', '=', tenantId)
    .where('integration', '=', 'revio')
    .orderBy('id')
    .execute();
}

export interface ExistingCustomerRow {
  id: number;
  name: string;
  kind: CustomerKind;
  revCustomerId: number | null;
  revCredentialsId: number | null;
}

/** The tenant's customers named like a row (any case) or holding one of its Rev.io ids. */
export async function findCustomersMatching(
  db: Executor,
  tenantId: number,
  match: { names: string[]; revCustomerIds: number[] },
): Promise<ExistingCustomerRow[]> {
  const { rows } = await sql<ExistingCustomerRow>`
    SELECT id, name, kind, rev_customer_id AS "revCustomerId", rev_credentials_id AS "revCredentialsId"
    FROM customer
    WHERE tenant_id = ${tenantId}
      AND (lower(name) = ANY(${match.names.map((n) => n.toLowerCase())}::text[])
           OR rev_customer_id = ANY(${match.revCustomerIds}::bigint[]))
    ORDER BY id
  `.execute(db);
  return rows;
}

export interface NewImportedCustomer {
  name: string;
  kind: CustomerKind;
  revCustomerId: number | null;
  revCredentialsId: number | null;
  siteName: string;
  siteAddress: string | null;
}

/**
 * The new customers and each one's default site, in ONE statement. Sites find their customer by
 * name: the import refuses a file that names a customer twice (in any case), so it is unique here.
 */
export async function insertCustomersWithSites(
  db: Executor,
  tenantId: number,
  customers: NewImportedCustomer[],
): Promise<number> {
  if (customers.length === 0) return 0;
  const column = <K extends keyof NewImportedCustomer>(key: K) => customers.map((c) => c[key]);
  const { rows } = await sql<{ n: number }>`
    WITH input AS (
      SELECT * FROM unnest(${column('name')}::text[], ${column('kind')}::text[],
                           ${column('revCustomerId')}::bigint[], ${column('revCredentialsId')}::bigint[],
                           ${column('siteName')}::text[], ${column('siteAddress')}::text[])
             AS i(name, kind, rev_customer_id, rev_credentials_id, site_name, site_address)
    ), created AS (
      INSERT INTO customer (tenant_id, name, kind, rev_customer_id, rev_credentials_id)
      SELECT ${tenantId}, i.name, i.kind, i.rev_customer_id, i.rev_credentials_id FROM input i
      RETURNING id, name
    ), sites AS (
      INSERT INTO site (tenant_id, customer_id, name, address, is_default)
      SELECT ${tenantId}, c.id, i.site_name, i.site_address, true
      FROM created c JOIN input i ON lower(i.name) = lower(c.name)
      RETURNING id
    )
    SELECT (SELECT count(*) FROM created)::int AS n
  `.execute(db);
  return rows[0]!.n;
}

/** New names for Rev.io customers, by id; a name already right is not written (nor counted). */
export async function renameCustomers(
  db: Executor,
  tenantId: number,
  renames: { id: number; name: string }[],
): Promise<number> {
  if (renames.length === 0) return 0;
  const result = await sql`
    UPDATE customer c SET name = r.name
    FROM unnest(${renames.map((r) => r.id)}::bigint[], ${renames.map((r) => r.name)}::text[]) AS r(id, name)
    WHERE c.id = r.id AND c.tenant_id = ${tenantId} AND c.name IS DISTINCT FROM r.name
  `.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
