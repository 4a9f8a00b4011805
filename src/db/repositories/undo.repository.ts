import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { ChunkContext } from './processing.repository.ts';

/**
 * Reads and writes of an undo (issue 16). What an undo restores is read from the original's own
 * records, never recomputed: its device_history rows (before-values written in the same statement
 * as each change), its rev_service / rev_service_product rows (what it created in Rev.io) and its
 * scheduled changes. Every statement takes all the devices of a group at once.
 */

/** The undo's per-device plan: what the original changed on the device, and whether it may be undone. */
export interface UndoCandidate {
  originalWorkOrderId: number;
  deviceId: number;
  identifier: string;
  iccid: string | null;
  msisdn: string | null;
  /** Why the device is left alone (changed since, or in another open bulk change); null: undo it. */
  conflict: string | null;
  revServices: number;
  revServiceProducts: number;
  /** The carrier plan the original replaced, when it changed one. */
  carrierPlan: { ratePlan: string | null; communicationPlan: string | null } | null;
  /** yyyy-MM-dd: when the carrier plan goes back (the original's own date when still in the future). */
  carrierDate: string | null;
}

/**
 * The devices the original changed (processed, or with a step or a Rev.io line done), each judged.
 * A device was changed since when a device_history row newer than the original's last one for it
 * belongs to anything else (another bulk change, an edit); `undoId` (the undo itself) does not count.
 */
export async function findUndoCandidates(
  db: Executor,
  params: { originalId: number; undoId: number | null; today: string; workOrderIds?: number[] },
): Promise<UndoCandidate[]> {
  const only = params.workOrderIds;
  const { rows } = await sql<UndoCandidate>`
    WITH orig AS (
      SELECT w.id, w.device_id, w.identifier, w.iccid, w.msisdn
      FROM bulk_change_device w
      WHERE w.bulk_change_id = ${params.originalId} AND w.device_id IS NOT NULL
        AND (${only === undefined} OR w.id = ANY(${only ?? []}::bigint[]))
        AND (w.status = 'PROCESSED' OR cardinality(w.steps_done) > 0
             OR EXISTS (SELECT 1 FROM rev_service rs WHERE rs.bulk_change_device_id = w.id AND rs.status = 'created'))
    )
    SELECT o.id AS "originalWorkOrderId", o.device_id AS "deviceId", o.identifier, o.iccid, o.msisdn,
           CASE
             WHEN other.bulk_change_id IS NOT NULL
               THEN format('In bulk change %s, which is still open: not undone.', other.bulk_change_id)
             WHEN later.bulk_change_id IS NOT NULL
               THEN format('Changed since by bulk change %s (%s, %s): not undone.', later.bulk_change_id,
                           coalesce(later.email, 'unknown user'), later.at)
             WHEN later.id IS NOT NULL
               THEN format('Changed since (%s by %s, %s): not undone.', later.change_type,
                           coalesce(later.email, 'the system'), later.at)
           END AS conflict,
           coalesce(rev.services, 0) AS "revServices", coalesce(rev.products, 0) AS "revServiceProducts",
           CASE WHEN carrier.before IS NOT NULL THEN jsonb_build_object(
             'ratePlan', carrier.before->>'ratePlan', 'communicationPlan', carrier.before->>'communicationPlan') END
             AS "carrierPlan",
           CASE WHEN carrier.before IS NOT NULL THEN
             to_char(greatest(${params.today}::date, coalesce(scp.effective_date, ${params.today}::date)), 'YYYY-MM-DD')
           END AS "carrierDate"
    FROM orig o
    LEFT JOIN LATERAL (
      SELECT x.bulk_change_id FROM bulk_change_device x
      WHERE x.device_id = o.device_id AND x.status IN ('PENDING', 'PROCESSING', 'WAITING_CARRIER')
        AND x.bulk_change_id IS DISTINCT FROM ${params.undoId}::bigint
      LIMIT 1
    ) other ON true
    LEFT JOIN LATERAL (
      SELECT h.id, h.bulk_change_id, h.change_type, u.email,
             to_char(h.changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"') AS at
      FROM device_history h LEFT JOIN app_user u ON u.id = h.changed_by
      WHERE h.device_id = o.device_id
        AND h.id > (SELECT max(h0.id) FROM device_history h0
                    WHERE h0.bulk_change_id = ${params.originalId} AND h0.device_id = o.device_id)
        AND h.bulk_change_id IS DISTINCT FROM ${params.originalId}::bigint
        AND h.bulk_change_id IS DISTINCT FROM ${params.undoId}::bigint
      ORDER BY h.id DESC LIMIT 1
    ) later ON true
    LEFT JOIN LATERAL (
      SELECT count(DISTINCT rs.id)::int AS services, count(p.id)::int AS products
      FROM rev_service rs
      LEFT JOIN rev_service_product p ON p.rev_service_id = rs.id AND p.status = 'created'
      WHERE rs.bulk_change_device_id = o.id AND rs.status = 'created'
    ) rev ON true
    LEFT JOIN LATERAL (
      SELECT h.before FROM device_history h
      WHERE h.bulk_change_id = ${params.originalId} AND h.device_id = o.device_id
        AND h.change_type IN ('carrier_rate_plan', 'carrier_rate_plan_scheduled')
      ORDER BY h.id LIMIT 1
    ) carrier ON true
    LEFT JOIN scheduled_carrier_plan_change scp ON scp.bulk_change_device_id = o.id
    ORDER BY o.id
  `.execute(db);
  return rows;
}

/** The live (not cancelled) undo of a bulk change, if any. */
export async function findLiveUndo(db: Executor, originalId: number): Promise<number | undefined> {
  const { rows } = await sql<{ id: number }>`
    SELECT id FROM bulk_change WHERE undo_of = ${originalId} AND status <> 'CANCELLED' ORDER BY id DESC LIMIT 1
  `.execute(db);
  return rows[0]?.id;
}

/** For the read model: which bulk change each one undoes, and its live undo. */
export async function findUndoLinks(
  db: Executor,
  ids: number[],
): Promise<Map<number, { undoOf: number | null; undoneBy: number | null }>> {
  const links = new Map<number, { undoOf: number | null; undoneBy: number | null }>();
  if (ids.length === 0) return links;
  const { rows } = await sql<{ id: number; undo_of: number | null; undone_by: number | null }>`
    SELECT b.id, b.undo_of,
           (SELECT max(u.id) FROM bulk_change u WHERE u.undo_of = b.id AND u.status <> 'CANCELLED') AS undone_by
    FROM bulk_change b WHERE b.id = ANY(${ids}::bigint[])
  `.execute(db);
  for (const row of rows) links.set(row.id, { undoOf: row.undo_of, undoneBy: row.undone_by });
  return links;
}

/** The undo's bulk change: the original's provider, customer and site, `options.undoOf` for readers. */
export async function insertUndoBulkChange(
  db: Executor,
  u: {
    tenantId: number;
    originalId: number;
    createdBy: number;
    idempotencyKey: string | null;
    requestHash: string;
    source: 'api' | 'ui';
    totalCount: number;
  },
): Promise<number> {
  const { rows } = await sql<{ id: number }>`
    INSERT INTO bulk_change (tenant_id, change_type, service_provider_id, portal_type, customer_id, site_id, options,
                             total_count, created_by, idempotency_key, request_hash, source, undo_of)
    SELECT tenant_id, 'undo', service_provider_id, portal_type, customer_id, site_id,
           jsonb_build_object('changeType', 'undo', 'undoOf', id), ${u.totalCount}, ${u.createdBy}, ${u.idempotencyKey},
           ${u.requestHash}, ${u.source}, id
    FROM bulk_change WHERE id = ${u.originalId} AND tenant_id = ${u.tenantId}
    RETURNING id
  `.execute(db);
  return rows[0]!.id;
}

export interface UndoWorkOrderContext {
  tenantId: number;
  undoId: number;
  originalId: number;
  chunkSize: number;
  today: string;
}

/**
 * The undo's work orders: PENDING for the devices to restore (chunked), ERROR / eligibility for the
 * conflicts. A device taken by another open bulk change after the candidates were read is skipped by
 * the open-work-order index and written as a conflict by the caller; returns those candidates.
 */
export async function insertUndoWorkOrders(
  db: Executor,
  ctx: UndoWorkOrderContext,
  candidates: UndoCandidate[],
): Promise<UndoCandidate[]> {
  if (candidates.length === 0) return [];
  const pending = candidates.filter((c) => c.conflict === null);
  const col = <K extends keyof UndoCandidate>(list: UndoCandidate[], key: K) => list.map((c) => c[key]);
  const { rows } = await sql<{ original_work_order_id: number }>`
    INSERT INTO bulk_change_device (tenant_id, bulk_change_id, device_id, identifier, iccid, msisdn, status, chunk, request)
    SELECT ${ctx.tenantId}, ${ctx.undoId}, t.device_id, t.identifier, t.iccid, t.msisdn, 'PENDING',
           ((t.ord - 1) / ${ctx.chunkSize})::int,
           jsonb_build_object('deviceId', t.device_id, 'iccid', t.iccid, 'msisdn', t.msisdn,
                              'customerId', o.customer_id, 'siteId', o.site_id, 'revCustomerId', NULL,
                              'revCredentialsId', NULL, 'effectiveDate', coalesce(t.carrier_date, ${ctx.today}::date),
                              'activatedDate', ${ctx.today}::date, 'originalWorkOrderId', t.original_work_order_id,
                              'carrierPlan', t.carrier_plan)
    FROM unnest(${col(pending, 'originalWorkOrderId')}::bigint[], ${col(pending, 'deviceId')}::bigint[],
                ${col(pending, 'identifier')}::text[], ${col(pending, 'iccid')}::text[], ${col(pending, 'msisdn')}::text[],
                ${pending.map((c) => (c.carrierPlan ? JSON.stringify(c.carrierPlan) : null))}::jsonb[],
                ${col(pending, 'carrierDate')}::date[])
         WITH ORDINALITY AS t(original_work_order_id, device_id, identifier, iccid, msisdn, carrier_plan, carrier_date, ord)
    CROSS JOIN (SELECT customer_id, site_id FROM bulk_change WHERE id = ${ctx.originalId}) o
    ORDER BY t.device_id
    ON CONFLICT (device_id) WHERE status IN ('PENDING', 'PROCESSING', 'WAITING_CARRIER') DO NOTHING
    RETURNING (request->>'originalWorkOrderId')::bigint AS original_work_order_id
  `.execute(db);
  const written = new Set(rows.map((r) => Number(r.original_work_order_id)));
  const lost = pending.filter((c) => !written.has(c.originalWorkOrderId));
  const refused = [
    ...candidates.filter((c) => c.conflict !== null),
    ...lost.map((c) => ({ ...c, conflict: 'In another bulk change, which is still open: not undone.' })),
  ];
  if (refused.length > 0) {
    await sql`
      INSERT INTO bulk_change_device (tenant_id, bulk_change_id, device_id, identifier, iccid, msisdn, status,
                                      error_category, message, processed_at)
      SELECT ${ctx.tenantId}, ${ctx.undoId}, t.device_id, t.identifier, t.iccid, t.msisdn, 'ERROR', 'eligibility',
             t.message, now()
      FROM unnest(${col(refused, 'deviceId')}::bigint[], ${col(refused, 'identifier')}::text[],
                  ${col(refused, 'iccid')}::text[], ${col(refused, 'msisdn')}::text[], ${col(refused, 'conflict')}::text[])
           AS t(device_id, identifier, iccid, msisdn, message)
    `.execute(db);
  }
  return lost;
}

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
