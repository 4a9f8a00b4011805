import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../database.ts';
import type {
  CarrierIntegration,
  CustomerKind,
  DeviceStatus,
  PortalType,
  WorkOrderStatus,
} from '../schema.ts';
import type { VisibleCustomers } from './device-access.repository.ts';

/**
 * What the device page shows of one device: the device and its owner with names, its plans and
 * scheduled plan changes, its Rev.io service lines with their products (named), and the bulk changes that
 * touched it. Four queries whatever the device's past (each bounded by an index on the device).
 * A customer the principal may not access is shown by id only (its name is left out).
 */

export interface DeviceCore {
  id: number;
  serviceProvider: { id: number; name: string; integration: CarrierIntegration; portalType: PortalType };
  iccid: string;
  msisdn: string | null;
  imei: string | null;
  status: DeviceStatus;
  activatedAt: string | null;
  archived: boolean;
  createdAt: Date;
  updatedAt: Date;
  carrierRatePlan: { code: string; name: string | null; communicationPlan: string | null } | null;
  owner: {
    customer: { id: number; name: string; kind: CustomerKind; revCustomerId: number | null };
    site: { id: number; name: string } | null;
    accountNumber: string | null;
    revServiceId: number | null;
    customerRatePlan: { id: number; code: string; name: string } | null;
    customerRatePool: { id: number; name: string } | null;
    dataAllocationMb: number | null;
    modifiedAt: Date;
  } | null;
}

/** The device and its current owner, or undefined when the tenant has no such device. */
export async function findDeviceCore(
  db: Executor,
  tenantId: number,
  deviceId: number,
): Promise<DeviceCore | undefined> {
  const { rows } = await sql<DeviceCore>`
    SELECT d.id,
           jsonb_build_object('id', sp.id, 'name', sp.name, 'integration', sp.integration,
                              'portalType', sp.portal_type) AS "serviceProvider",
           d.iccid, d.msisdn, d.imei, d.status, d.activated_at AS "activatedAt", d.is_archived AS archived,
           d.created_at AS "createdAt", d.updated_at AS "updatedAt",
           CASE WHEN d.carrier_rate_plan IS NOT NULL THEN
             jsonb_build_object('code', d.carrier_rate_plan, 'name', crp.name,
                                'communicationPlan', d.communication_plan) END AS "carrierRatePlan",
           CASE WHEN c.id IS NOT NULL THEN jsonb_build_object(
             'customer', jsonb_build_object('id', c.id, 'name', c.name, 'kind', c.kind,
                                            'revCustomerId', c.rev_customer_id),
             'site', CASE WHEN st.id IS NOT NULL THEN jsonb_build_object('id', st.id, 'name', st.name) END,
             'accountNumber', o.account_number, 'revServiceId', o.rev_service_id,
             'customerRatePlan', CASE WHEN cp.id IS NOT NULL
                                      THEN jsonb_build_object('id', cp.id, 'code', cp.code, 'name', cp.name) END,
             'customerRatePool', CASE WHEN pool.id IS NOT NULL
                                      THEN jsonb_build_object('id', pool.id, 'name', pool.name) END,
             'dataAllocationMb', o.data_allocation_mb::float8,
             'modifiedAt', o.modified_at) END AS owner
    FROM device d
    JOIN service_provider sp ON sp.id = d.service_provider_id
    LEFT JOIN carrier_rate_plan crp ON crp.service_provider_id = d.service_provider_id AND crp.code = d.carrier_rate_plan
    -- An ownership row without a customer is no owner.
    LEFT JOIN device_tenant o ON o.device_id = d.id AND o.tenant_id = ${tenantId} AND o.is_active AND NOT o.is_deleted
         AND o.customer_id IS NOT NULL
    LEFT JOIN customer c ON c.id = o.customer_id
    LEFT JOIN site st ON st.id = o.site_id
    LEFT JOIN customer_rate_plan cp ON cp.id = o.customer_rate_plan_id
    LEFT JOIN customer_rate_pool pool ON pool.id = o.customer_rate_pool_id
    WHERE d.id = ${deviceId} AND d.tenant_id = ${tenantId}
  `.execute(db);
  const row = rows[0];
  if (!row?.owner) return row;
  // jsonb carries the timestamp as text.
  return { ...row, owner: { ...row.owner, modifiedAt: new Date(row.owner.modifiedAt) } };
}

export interface ScheduledPlanChange {
  kind: 'carrier' | 'customer';
  effectiveDate: string;
  bulkChangeId: number | null;
  createdAt: Date;
  /** kind carrier: the plan code and communication plan sent to the carrier. */
  carrierRatePlan: { code: string; communicationPlan: string | null } | null;
  /** kind customer: the customer plan and/or pool that will apply. */
  customerRatePlan: { id: number; name: string } | null;
  customerRatePool: { id: number; name: string } | null;
}

/** Plan changes waiting for their effective date, soonest first. */
export async function listScheduledPlanChanges(
  db: Executor,
  tenantId: number,
  deviceId: number,
): Promise<ScheduledPlanChange[]> {
  const { rows } = await sql<ScheduledPlanChange>`
    SELECT 'carrier' AS kind, s.effective_date AS "effectiveDate", s.bulk_change_id AS "bulkChangeId",
           s.created_at AS "createdAt",
           jsonb_build_object('code', s.carrier_rate_plan, 'communicationPlan', s.communication_plan) AS "carrierRatePlan",
           NULL::jsonb AS "customerRatePlan", NULL::jsonb AS "customerRatePool"
    FROM scheduled_carrier_plan_change s
    WHERE s.device_id = ${deviceId} AND s.tenant_id = ${tenantId} AND s.status = 'scheduled'
    UNION ALL
    SELECT 'customer', s.effective_date, s.bulk_change_id, s.created_at, NULL,
           CASE WHEN p.id IS NOT NULL THEN jsonb_build_object('id', p.id, 'name', p.name) END,
           CASE WHEN pool.id IS NOT NULL THEN jsonb_build_object('id', pool.id, 'name', pool.name) END
    FROM scheduled_rate_plan_change s
    LEFT JOIN customer_rate_plan p ON p.id = s.customer_rate_plan_id
    LEFT JOIN customer_rate_pool pool ON pool.id = s.customer_rate_pool_id
    WHERE s.device_id = ${deviceId} AND s.tenant_id = ${tenantId} AND s.status = 'scheduled'
    ORDER BY "effectiveDate", "createdAt"
  `.execute(db);
  return rows;
}

export interface RevServiceLine {
  id: number;
  /** Rev.io's service id; null while the create is pending or when it failed. */
  serviceId: number | null;
  status: 'pending' | 'created' | 'failed' | 'disconnected';
  active: boolean;
  customer: { id: number; name: string | null };
  revCustomerId: number;
  number: string;
  serviceTypeId: number | null;
  serviceTypeName: string | null;
  packageId: number | null;
  packageName: string | null;
  createdAt: Date;
  disconnectedAt: Date | null;
  bulkChangeId: number | null;
  products: {
    productId: number;
    name: string | null;
    rate: number | null;
    serviceProductId: number | null;
    status: string;
  }[];
}

/**
 * Every Rev.io line the device had, newest first (rev_service_device_all_idx), at most 50. Service
 * type, package and product names come from the cached catalogue as rev-option-names.repository.ts
 * reads it (catalogue_entry by its primary key, inactive entries included: a product since retired
 * keeps its name), of the Rev.io account the line was created in; null when that account's catalogue
 * lacks the id. Joined in this one statement: no query per line or product.
 */
export async function listRevServiceLines(
  db: Executor,
  tenantId: number,
  deviceId: number,
  visible: VisibleCustomers,
): Promise<RevServiceLine[]> {
  const { rows } = await sql<RevServiceLine>`
    SELECT r.id, r.service_id AS "serviceId", r.status, r.is_active AS active,
           jsonb_build_object('id', r.customer_id, 'name', ${nameIfVisible(sql`c`, visible)}) AS customer,
           r.rev_customer_id AS "revCustomerId", r.number, r.service_type_id AS "serviceTypeId",
           st.name AS "serviceTypeName", r.package_id AS "packageId", pk.name AS "packageName",
           r.created_at AS "createdAt", r.disconnected_at AS "disconnectedAt", w.bulk_change_id AS "bulkChangeId",
           coalesce((SELECT jsonb_agg(jsonb_build_object('productId', p.product_id, 'name', e.name,
                                                         'rate', p.rate::float8,
                                                         'serviceProductId', p.service_product_id,
                                                         'status', p.status) ORDER BY p.product_id)
                     FROM rev_service_product p
                     LEFT JOIN catalogue_entry e ON e.credentials_id = r.rev_credentials_id AND e.kind = 'product'
                                                AND e.remote_id = p.product_id::text
                     WHERE p.rev_service_id = r.id), '[]'::jsonb) AS products
    FROM rev_service r
    JOIN customer c ON c.id = r.customer_id
    LEFT JOIN bulk_change_device w ON w.id = r.bulk_change_device_id
    LEFT JOIN catalogue_entry st ON st.credentials_id = r.rev_credentials_id AND st.kind = 'service_type'
                                AND st.remote_id = r.service_type_id::text
    LEFT JOIN catalogue_entry pk ON pk.credentials_id = r.rev_credentials_id AND pk.kind = 'package'
                                AND pk.remote_id = r.package_id::text
    WHERE r.tenant_id = ${tenantId} AND r.device_id = ${deviceId}
    ORDER BY r.id DESC LIMIT 50
  `.execute(db);
  return rows;
}

export interface DeviceBulkChange {
  id: number;
  changeType: string;
  status: string;
  customer: { id: number; name: string };
  createdAt: Date;
  completedAt: Date | null;
  /** What became of this device in the change: its work order's status, and why when it failed. */
  device: { status: WorkOrderStatus; message: string | null };
}

/**
 * The bulk changes that had the device, newest first, at most 50, each with what became of the
 * device in it: open (its open work order), refused at submission, failed or cancelled (its ended
 * work order), changed (its history: PROCESSED), or given a Rev.io line. When a change has it in
 * several ways, the first of that order says. Each way is an index search by device. Only bulk
 * changes of customers the principal may access (another's answers 404 on its own page).
 */
export async function listDeviceBulkChanges(
  db: Executor,
  tenantId: number,
  deviceId: number,
  visible: VisibleCustomers,
): Promise<DeviceBulkChange[]> {
  const only = visible === undefined ? sql`` : sql`AND b.customer_id = ANY(${[...visible]}::bigint[])`;
  const { rows } = await sql<DeviceBulkChange>`
    WITH mine AS (
      SELECT w.bulk_change_id, w.status, w.message, 1 AS rank FROM bulk_change_device w
      WHERE w.device_id = ${deviceId} AND w.status IN ('PENDING', 'PROCESSING', 'WAITING_CARRIER')
      UNION ALL
      SELECT w.bulk_change_id, w.status, w.message, 2 FROM bulk_change_device w
      WHERE w.device_id = ${deviceId} AND w.status IN ('ERROR', 'CANCELLED')
      UNION ALL
      SELECT h.bulk_change_id, 'PROCESSED', NULL, 3 FROM device_history h
      WHERE h.device_id = ${deviceId} AND h.tenant_id = ${tenantId} AND h.bulk_change_id IS NOT NULL
      UNION ALL
      SELECT w.bulk_change_id, w.status, w.message, 4
      FROM rev_service r JOIN bulk_change_device w ON w.id = r.bulk_change_device_id
      WHERE r.tenant_id = ${tenantId} AND r.device_id = ${deviceId}
    ), outcome AS (
      SELECT DISTINCT ON (bulk_change_id) bulk_change_id, status, message FROM mine
      ORDER BY bulk_change_id, rank
    )
    SELECT b.id, b.change_type AS "changeType", b.status,
           jsonb_build_object('id', c.id, 'name', c.name) AS customer,
           b.created_at AS "createdAt", b.completed_at AS "completedAt",
           jsonb_build_object('status', o.status, 'message', o.message) AS device
    FROM outcome o
    JOIN bulk_change b ON b.id = o.bulk_change_id
    JOIN customer c ON c.id = b.customer_id
    WHERE b.tenant_id = ${tenantId} ${only}
    ORDER BY b.id DESC LIMIT 50
  `.execute(db);
  return rows;
}

/** `alias.name` when the principal may access that customer, else null. */
export function nameIfVisible(alias: RawBuilder<unknown>, visible: VisibleCustomers): RawBuilder<unknown> {
  if (visible === undefined) return sql`${alias}.name`;
  return sql`CASE WHEN ${alias}.id = ANY(${[...visible]}::bigint[]) THEN ${alias}.name END`;
}
