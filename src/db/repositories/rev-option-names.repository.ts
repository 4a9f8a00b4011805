import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/**
 * The names of the Rev.io choices a bulk change was submitted with (its `options.revService`: service
 * type, package, provider, usage plan group, products), read from the cached catalogue of the Rev.io
 * account of the bulk change's customer (catalogue_entry, inactive entries included: a product since
 * retired keeps its name). A screen shows these names, not the ids.
 */

export interface RevOptionNames {
  serviceType: string | null;
  package: string | null;
  provider: string | null;
  usagePlanGroup: string | null;
  /** The name of each product id (as text) the catalogue knows. */
  products: Record<string, string>;
}

type Kind = 'service_type' | 'package' | 'provider' | 'usage_plan_group' | 'product';
const FIELDS: Record<Exclude<Kind, 'product'>, keyof Omit<RevOptionNames, 'products'>> = {
  service_type: 'serviceType',
  package: 'package',
  provider: 'provider',
  usage_plan_group: 'usagePlanGroup',
};

/**
 * The names for each of `bulkChangeIds` whose options ask for a Rev.io service (others are absent),
 * in one statement whatever the number of changes: each change's wanted (kind, id) pairs joined to
 * the catalogue's primary key (credentials_id, kind, remote_id). An id the catalogue lacks has no name.
 */
export async function findRevOptionNames(
  db: Executor,
  tenantId: number,
  bulkChangeIds: number[],
): Promise<Map<number, RevOptionNames>> {
  const result = new Map<number, RevOptionNames>();
  if (bulkChangeIds.length === 0) return result;
  const { rows } = await sql<{ id: number; kind: Kind | null; remoteId: string | null; name: string | null }>`
    SELECT b.id, w.kind, w.remote_id AS "remoteId", e.name
    FROM bulk_change b
    JOIN customer c ON c.id = b.customer_id
    LEFT JOIN LATERAL (
      SELECT 'service_type' AS kind, b.options #>> '{revService,serviceTypeId}' AS remote_id
      UNION ALL SELECT 'package', b.options #>> '{revService,packageId}'
      UNION ALL SELECT 'provider', b.options #>> '{revService,providerId}'
      UNION ALL SELECT 'usage_plan_group', b.options #>> '{revService,usagePlanGroupId}'
      UNION ALL SELECT 'product', p ->> 'productId'
      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(b.options #> '{revService,products}') = 'array'
                                     THEN b.options #> '{revService,products}' ELSE '[]' END) AS p
    ) AS w ON w.remote_id IS NOT NULL
    LEFT JOIN catalogue_entry e ON e.credentials_id = c.rev_credentials_id AND e.kind = w.kind
                               AND e.remote_id = w.remote_id
    WHERE b.tenant_id = ${tenantId} AND b.id = ANY(${bulkChangeIds}::bigint[])
      AND jsonb_typeof(b.options -> 'revService') = 'object'
  `.execute(db);
  for (const row of rows) {
    let names = result.get(row.id);
    if (!names) {
      names = { serviceType: null, package: null, provider: null, usagePlanGroup: null, products: {} };
      result.set(row.id, names);
    }
    if (row.kind === null || row.name === null) continue;
    if (row.kind === 'product') names.products[row.remoteId!] = row.name;
    else names[FIELDS[row.kind]] = row.name;
  }
  return result;
}
