import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { DeviceCandidate } from '../../services/assignment/eligibility.ts';

/**
 * Reads behind the validation of a customer assignment. Each is one query whatever the number of
 * devices: validation of 100,000 devices costs the same handful of round trips as one device.
 */

export async function findServiceProvider(db: Executor, tenantId: number, id: number) {
  return db
    .selectFrom('service_provider')
    .select(['id', 'name', 'integration', 'portal_type', 'credentials_id', 'active'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function findCustomer(db: Executor, tenantId: number, id: number) {
  return db
    .selectFrom('customer as c')
    .select([
      'c.id',
      'c.name',
      'c.kind',
      'c.rev_customer_id',
      'c.rev_credentials_id',
      'c.active',
      (eb) =>
        eb
          .selectFrom('site')
          .select('site.id')
          .whereRef('site.customer_id', '=', 'c.id')
          .where('site.is_default', '=', true)
          .as('default_site_id'),
    ])
    .where('c.tenant_id', '=', tenantId)
    .where('c.id', '=', id)
    .executeTakeFirst();
}

export async function findCustomerByRevId(db: Executor, tenantId: number, revCustomerId: number) {
  return db
    .selectFrom('customer')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .where('rev_customer_id', '=', revCustomerId)
    .executeTakeFirst();
}

export async function findSite(db: Executor, tenantId: number, id: number) {
  return db
    .selectFrom('site')
    .select(['id', 'customer_id', 'name'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function findCustomerRatePlan(db: Executor, tenantId: number, id: number) {
  return db
    .selectFrom('customer_rate_plan')
    .select(['id', 'name', 'data_allocation_mb', 'active'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function findCustomerRatePool(db: Executor, tenantId: number, id: number) {
  return db
    .selectFrom('customer_rate_pool')
    .select(['id', 'name', 'active'])
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function findCarrierRatePlan(db: Executor, serviceProviderId: number, code: string) {
  return db
    .selectFrom('carrier_rate_plan')
    .select(['id', 'code', 'communication_plan', 'active'])
    .where('service_provider_id', '=', serviceProviderId)
    .where('code', '=', code)
    .executeTakeFirst();
}

/** The communication plans of a carrier account: those its active rate plans name. */
export async function listCommunicationPlans(db: Executor, serviceProviderId: number): Promise<string[]> {
  const rows = await db
    .selectFrom('carrier_rate_plan')
    .select('communication_plan')
    .distinct()
    .where('service_provider_id', '=', serviceProviderId)
    .where('active', '=', true)
    .where('communication_plan', 'is not', null)
    .execute();
  return rows.map((r) => r.communication_plan!);
}

/**
 * Everything the eligibility rules need, for every identifier that names a device, in one
 * statement: the device under this tenant and service provider, its ownership, the customers
 * holding an active Rev.io service on it, and an open work order of another bulk change.
 * Identifiers that name no device are not in the answer; rows come in no particular order. MSISDNs
 * are not unique in every fleet: such an identifier comes back once per device (the caller keeps
 * the oldest).
 *
 * The identifiers travel as one comma-separated text (they are digits only: the caller passes the
 * well-formed ones), which costs a fraction of an array parameter's quoting for 100,000 of them.
 * The plan follows the request, not the fleet: index lookups for the listed devices only.
 */
export async function findDeviceCandidates(
  db: Executor,
  params: { tenantId: number; serviceProviderId: number; kind: 'iccid' | 'msisdn'; identifiers: string[] },
): Promise<DeviceCandidate[]> {
  if (params.identifiers.length === 0) return [];
  const column = sql.ref(`d.${params.kind}`);
  const owned = sql`dt.is_active AND NOT dt.is_deleted`;
  // The identifier is the device's own ICCID or MSISDN, and most devices hold no Rev.io line: both
  // are filled in here rather than sent and parsed 100,000 times.
  const { rows } = await sql<
    Omit<DeviceCandidate, 'identifier'> & { activeRevServiceCustomerIds: number[] | null }
  >`
    SELECT d.id AS "deviceId",
           d.iccid,
           d.msisdn,
           d.status,
           d.is_archived AS "isArchived",
           coalesce(dt.is_deleted, false) AS "isDeleted",
           d.activated_at AS "activatedAt",
           CASE WHEN ${owned} THEN dt.customer_id END AS "ownerCustomerId",
           CASE WHEN ${owned} THEN oc.name END AS "ownerCustomerName",
           CASE WHEN ${owned} THEN dt.site_id END AS "ownerSiteId",
           CASE WHEN ${owned} THEN os.name END AS "ownerSiteName",
           rs.customer_ids AS "activeRevServiceCustomerIds",
           o.bulk_change_id AS "openBulkChangeId"
    FROM device d
    LEFT JOIN device_tenant dt ON dt.device_id = d.id AND dt.tenant_id = d.tenant_id
    LEFT JOIN customer oc ON oc.id = dt.customer_id
    LEFT JOIN site os ON os.id = dt.site_id
    LEFT JOIN LATERAL (
           SELECT array_agg(DISTINCT s.customer_id) AS customer_ids
           FROM rev_service s
           WHERE s.device_id = d.id AND s.is_active AND s.status IN ('pending', 'created')
         ) rs ON true
    LEFT JOIN bulk_change_device o
           ON o.device_id = d.id AND o.status IN ('PENDING', 'PROCESSING', 'WAITING_CARRIER')
    WHERE d.tenant_id = ${params.tenantId}
      AND d.service_provider_id = ${params.serviceProviderId}
      -- A sub-select: the planner neither folds 100,000 constants nor estimates each of them
      -- (~200 ms of planning); the index is searched for the array's elements in one scan.
      AND ${column} = ANY((SELECT string_to_array(${params.identifiers.join(',')}::text, ','))::text[])
  `.execute(db);
  // Completed in place: 100,000 rows are not copied.
  const candidates = rows as unknown as DeviceCandidate[];
  for (const row of candidates) {
    row.identifier = params.kind === 'iccid' ? row.iccid : row.msisdn!;
    row.activeRevServiceCustomerIds ??= [];
  }
  return candidates;
}
