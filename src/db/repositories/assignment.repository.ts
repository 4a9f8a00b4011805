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
 * Everything the eligibility rules need, for every identifier, in one statement: the device under
 * this tenant and service provider, its ownership, the customers holding an active Rev.io service
 * on it, and an open work order of another bulk change. Identifiers with no device come back with
 * `deviceId` null. Order follows the input.
 */
export async function findDeviceCandidates(
  db: Executor,
  params: { tenantId: number; serviceProviderId: number; kind: 'iccid' | 'msisdn'; identifiers: string[] },
): Promise<DeviceCandidate[]> {
  const column = sql.ref(`d.${params.kind}`);
  const { rows } = await sql<DeviceCandidate>`
    SELECT DISTINCT ON (i.ord)
           i.identifier,
           d.id AS "deviceId",
           d.iccid,
           d.msisdn,
           d.status,
           coalesce(d.is_archived, false) AS "isArchived",
           coalesce(dt.is_deleted, false) AS "isDeleted",
           d.activated_at AS "activatedAt",
           CASE WHEN dt.is_active AND NOT dt.is_deleted THEN dt.customer_id END AS "ownerCustomerId",
           CASE WHEN dt.is_active AND NOT dt.is_deleted THEN oc.name END AS "ownerCustomerName",
           CASE WHEN dt.is_active AND NOT dt.is_deleted THEN dt.site_id END AS "ownerSiteId",
           CASE WHEN dt.is_active AND NOT dt.is_deleted THEN os.name END AS "ownerSiteName",
           coalesce(rs.customer_ids, '{}') AS "activeRevServiceCustomerIds",
           o.bulk_change_id AS "openBulkChangeId"
    FROM unnest(${params.identifiers}::text[]) WITH ORDINALITY AS i(identifier, ord)
    LEFT JOIN device d
           ON d.tenant_id = ${params.tenantId}
          AND d.service_provider_id = ${params.serviceProviderId}
          AND ${column} = i.identifier
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
    -- MSISDNs are not unique in every fleet: one identifier answers with its oldest device.
    ORDER BY i.ord, d.id
  `.execute(db);
  return rows;
}
