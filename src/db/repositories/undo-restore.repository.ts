import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { ChunkContext } from './processing.repository.ts';

/**
 * An undo carried out, a group of devices at a time: the Rev.io lines and products to disconnect
 * (the intent committed before any call), what was disconnected, and ownership and customer plans
 * put back from the original's own history rows (see undo.repository.ts).
 */

/** A Rev.io line (or product) the original created, and whether an earlier run may have disconnected it. */
export interface DisconnectTarget {
  workOrderId: number;
  revServiceRowId: number;
  serviceId: number;
  revCredentialsId: number;
  revCustomerId: number;
  number: string;
  status: 'created' | 'disconnected';
  /** An undo work order recorded its intent before: a disconnect may have been sent (look first). */
  intended: boolean;
  products: { id: number; serviceProductId: number; status: 'created' | 'disconnected'; intended: boolean }[];
}

/**
 * The lines and products the original work orders of these undo work orders created, and then the
 * intent: each is marked as about to be disconnected by its undo work order, committed before any call.
 */
export async function claimDisconnectTargets(
  db: Executor,
  workOrderIds: number[],
): Promise<DisconnectTarget[]> {
  if (workOrderIds.length === 0) return [];
  const { rows } = await sql<DisconnectTarget>`
    SELECT w.id AS "workOrderId", rs.id AS "revServiceRowId", rs.service_id AS "serviceId",
           rs.rev_credentials_id AS "revCredentialsId", rs.rev_customer_id AS "revCustomerId", rs.number, rs.status,
           rs.disconnect_work_order_id IS NOT NULL AS intended,
           coalesce((SELECT json_agg(json_build_object('id', p.id, 'serviceProductId', p.service_product_id,
                                                       'status', p.status,
                                                       'intended', p.disconnect_work_order_id IS NOT NULL)
                                     ORDER BY p.id)
                     FROM rev_service_product p
                     WHERE p.rev_service_id = rs.id AND p.status IN ('created', 'disconnected')
                       AND p.service_product_id IS NOT NULL), '[]') AS products
    FROM bulk_change_device w
    JOIN rev_service rs ON rs.bulk_change_device_id = (w.request->>'originalWorkOrderId')::bigint
    WHERE w.id = ANY(${workOrderIds}::bigint[]) AND rs.service_id IS NOT NULL
      AND (rs.status = 'created' OR rs.disconnect_work_order_id = w.id)
    ORDER BY w.id, rs.id
  `.execute(db);
  const serviceRows = rows.filter((r) => r.status === 'created').map((r) => r.revServiceRowId);
  if (serviceRows.length > 0) {
    await sql`
      WITH s AS (
        UPDATE rev_service rs SET disconnect_work_order_id = w.id, updated_at = now()
        FROM bulk_change_device w
        WHERE rs.id = ANY(${serviceRows}::bigint[]) AND w.id = ANY(${workOrderIds}::bigint[])
          AND rs.bulk_change_device_id = (w.request->>'originalWorkOrderId')::bigint
        RETURNING rs.id, w.id AS work_order_id
      )
      UPDATE rev_service_product p SET disconnect_work_order_id = s.work_order_id, updated_at = now()
      FROM s WHERE p.rev_service_id = s.id AND p.status = 'created'
    `.execute(db);
  }
  return rows;
}

/** Records what was disconnected (in the transaction of the step's log), with a history row per line. */
export async function recordDisconnects(
  db: Executor,
  ctx: ChunkContext,
  done: { serviceRowIds: number[]; productRowIds: number[]; today: string },
): Promise<void> {
  if (done.productRowIds.length > 0) {
    await sql`
      UPDATE rev_service_product SET status = 'disconnected', disconnected_at = now(), updated_at = now()
      WHERE id = ANY(${done.productRowIds}::bigint[]) AND status = 'created'
    `.execute(db);
  }
  if (done.serviceRowIds.length === 0) return;
  await sql`
    WITH updated AS (
      UPDATE rev_service SET status = 'disconnected', is_active = false, disconnected_at = now(), updated_at = now()
      WHERE id = ANY(${done.serviceRowIds}::bigint[]) AND status = 'created'
      RETURNING device_id, service_id, customer_id
    )
    INSERT INTO device_history (tenant_id, device_id, bulk_change_id, change_type, before, after, changed_by)
    SELECT ${ctx.tenantId}, u.device_id, ${ctx.bulkChangeId}, 'rev_service',
           jsonb_build_object('serviceId', u.service_id, 'customerId', u.customer_id, 'status', 'created'),
           jsonb_build_object('serviceId', u.service_id, 'customerId', u.customer_id, 'status', 'disconnected',
                              'disconnectedDate', ${done.today}::date),
           ${ctx.createdBy}
    FROM updated u
  `.execute(db);
}

const OWNERSHIP_JSON = (alias: string) =>
  sql.raw(`jsonb_build_object('customerId', ${alias}.customer_id, 'siteId', ${alias}.site_id,
                              'accountNumber', ${alias}.account_number, 'revCredentialsId', ${alias}.rev_credentials_id,
                              'revServiceId', ${alias}.rev_service_id, 'isActive', ${alias}.is_active,
                              'isDeleted', ${alias}.is_deleted)`);
const PLAN_JSON = (alias: string) =>
  sql.raw(`jsonb_build_object('ratePlanId', ${alias}.customer_rate_plan_id, 'ratePoolId', ${alias}.customer_rate_pool_id,
                              'dataAllocationMb', ${alias}.data_allocation_mb)`);

/**
 * Puts ownership and the customer rate plan back as the original found them, from the `before` of
 * the original's first history row of each kind for the device, and cancels the original's scheduled
 * changes that have not run. A device that had no ownership row before loses the one the original
 * made. One history row per restored kind (before: now, after: restored). Returns, per work order,
 * what was done, for the change log.
 */
export async function restoreLocal(
  db: Executor,
  ctx: ChunkContext,
  originalId: number,
  workOrderIds: number[],
): Promise<{ workOrderId: number; what: 'ownership' | 'plan' | 'removed' | 'scheduled' }[]> {
  if (workOrderIds.length === 0) return [];
  const { rows } = await sql<{ work_order_id: number; what: 'ownership' | 'plan' | 'removed' | 'scheduled' }>`
    WITH input AS (
      SELECT w.id AS work_order_id, w.device_id, (w.request->>'originalWorkOrderId')::bigint AS original_work_order_id
      FROM bulk_change_device w WHERE w.id = ANY(${workOrderIds}::bigint[])
    ), own AS (
      SELECT DISTINCT ON (h.device_id) i.work_order_id, h.device_id, h.before
      FROM device_history h JOIN input i ON i.device_id = h.device_id
      WHERE h.bulk_change_id = ${originalId} AND h.change_type = 'customer_assignment'
      ORDER BY h.device_id, h.id
    ), plan AS (
      SELECT DISTINCT ON (h.device_id) i.work_order_id, h.device_id, h.before
      FROM device_history h JOIN input i ON i.device_id = h.device_id
      WHERE h.bulk_change_id = ${originalId} AND h.change_type = 'customer_rate_plan' AND h.before IS NOT NULL
      ORDER BY h.device_id, h.id
    ), now_ AS (
      SELECT dt.id, dt.device_id, ${OWNERSHIP_JSON('dt')} AS own_now, ${PLAN_JSON('dt')} AS plan_now
      FROM device_tenant dt JOIN input i ON i.device_id = dt.device_id AND dt.tenant_id = ${ctx.tenantId}
    ), removed AS (
      DELETE FROM device_tenant dt USING own o
      WHERE o.before IS NULL AND dt.device_id = o.device_id AND dt.tenant_id = ${ctx.tenantId}
      RETURNING dt.device_id
    ), restored AS (
      UPDATE device_tenant dt
      SET customer_id = CASE WHEN o.device_id IS NOT NULL THEN (o.before->>'customerId')::bigint ELSE dt.customer_id END,
          site_id = CASE WHEN o.device_id IS NOT NULL THEN (o.before->>'siteId')::bigint ELSE dt.site_id END,
          account_number = CASE WHEN o.device_id IS NOT NULL THEN o.before->>'accountNumber' ELSE dt.account_number END,
          rev_credentials_id = CASE WHEN o.device_id IS NOT NULL THEN (o.before->>'revCredentialsId')::bigint
                                    ELSE dt.rev_credentials_id END,
          rev_service_id = CASE WHEN o.device_id IS NOT NULL THEN (o.before->>'revServiceId')::bigint ELSE dt.rev_service_id END,
          is_active = CASE WHEN o.device_id IS NOT NULL THEN (o.before->>'isActive')::boolean ELSE dt.is_active END,
          is_deleted = CASE WHEN o.device_id IS NOT NULL THEN (o.before->>'isDeleted')::boolean ELSE dt.is_deleted END,
          customer_rate_plan_id = CASE WHEN p.device_id IS NOT NULL THEN (p.before->>'ratePlanId')::bigint
                                       ELSE dt.customer_rate_plan_id END,
          customer_rate_pool_id = CASE WHEN p.device_id IS NOT NULL THEN (p.before->>'ratePoolId')::bigint
                                       ELSE dt.customer_rate_pool_id END,
          data_allocation_mb = CASE WHEN p.device_id IS NOT NULL THEN (p.before->>'dataAllocationMb')::numeric
                                    ELSE dt.data_allocation_mb END,
          modified_at = now(), modified_by = ${ctx.createdBy}
      FROM input i
      LEFT JOIN own o ON o.device_id = i.device_id AND o.before IS NOT NULL
      LEFT JOIN plan p ON p.device_id = i.device_id
      WHERE dt.device_id = i.device_id AND dt.tenant_id = ${ctx.tenantId}
        AND (o.device_id IS NOT NULL OR p.device_id IS NOT NULL)
        AND NOT EXISTS (SELECT 1 FROM own x WHERE x.device_id = i.device_id AND x.before IS NULL)
      RETURNING dt.device_id, ${OWNERSHIP_JSON('dt')} AS own_after, ${PLAN_JSON('dt')} AS plan_after,
                o.device_id IS NOT NULL AS own_restored, p.device_id IS NOT NULL AS plan_restored
    ), history AS (
      INSERT INTO device_history (tenant_id, device_id, bulk_change_id, change_type, before, after, changed_by)
      SELECT ${ctx.tenantId}, n.device_id, ${ctx.bulkChangeId}, x.change_type, x.before, x.after, ${ctx.createdBy}
      FROM now_ n
      LEFT JOIN restored r ON r.device_id = n.device_id
      LEFT JOIN removed d ON d.device_id = n.device_id
      CROSS JOIN LATERAL (VALUES
        ('customer_assignment', n.own_now,
         CASE WHEN d.device_id IS NOT NULL
              THEN jsonb_build_object('customerId', NULL, 'siteId', NULL, 'accountNumber', NULL, 'revCredentialsId', NULL,
                                      'revServiceId', NULL, 'isActive', false, 'isDeleted', false, 'owned', false)
              ELSE r.own_after END,
         d.device_id IS NOT NULL OR coalesce(r.own_restored, false)),
        ('customer_rate_plan', n.plan_now, r.plan_after, coalesce(r.plan_restored, false) AND d.device_id IS NULL)
      ) AS x(change_type, before, after, applies)
      WHERE x.applies
    ), rate_cancelled AS (
      UPDATE scheduled_rate_plan_change s SET status = 'cancelled'
      FROM input i WHERE s.bulk_change_device_id = i.original_work_order_id AND s.status = 'scheduled'
      RETURNING i.work_order_id
    ), carrier_cancelled AS (
      UPDATE scheduled_carrier_plan_change s SET status = 'cancelled'
      FROM input i WHERE s.bulk_change_device_id = i.original_work_order_id AND s.status = 'scheduled'
      RETURNING i.work_order_id
    )
    SELECT i.work_order_id, 'removed' AS what FROM input i JOIN removed d ON d.device_id = i.device_id
    UNION ALL
    SELECT i.work_order_id, 'ownership' FROM input i JOIN restored r ON r.device_id = i.device_id WHERE r.own_restored
    UNION ALL
    SELECT i.work_order_id, 'plan' FROM input i JOIN restored r ON r.device_id = i.device_id WHERE r.plan_restored
    UNION ALL
    SELECT work_order_id, 'scheduled' FROM rate_cancelled
    UNION ALL
    SELECT work_order_id, 'scheduled' FROM carrier_cancelled
  `.execute(db);
  return rows.map((r) => ({ workOrderId: Number(r.work_order_id), what: r.what }));
}
