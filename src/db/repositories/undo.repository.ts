import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/**
 * Reads and writes of an undo (issue 16). What an undo restores is read from the original's own
 * records, never recomputed: its device_history rows (before-values written in the same statement
 * as each change), its rev_service / rev_service_product rows (what it created in Rev.io) and its
 * scheduled changes. Every statement takes all the devices of a group at once. This module plans
 * an undo (its candidates, bulk change and work orders); undo-restore.repository.ts carries it out.
 */

export {
  claimDisconnectTargets,
  recordDisconnects,
  restoreLocal,
  type DisconnectTarget,
} from './undo-restore.repository.ts';

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
