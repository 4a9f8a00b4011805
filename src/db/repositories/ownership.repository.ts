import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../database.ts';
import { bulkHalf, completeRequest, type ChunkContext, type WorkItem } from './processing.repository.ts';

/**
 * The ownership step (≙ the older usp_Assign_Customer_Update_Site / …_Non_Rev_Customer): customer,
 * site, active, not deleted; on the Rev path also account number, Rev credentials and the Rev
 * service created for the work order. Off the Rev path, a device that changes hands loses the
 * previous owner's billing fields (the older system kept them, so the device showed another
 * customer's Rev.io account); one that stays with its customer keeps them. One history row per
 * device, before → after, billing fields included (undo restores them).
 *
 * The previous ownership is read by a join on each device's row (an index lookup per device): a
 * join of the whole ownership table, as before, read and hashed every owned device of the tenant
 * for each group (measured: 450 of 800 ms per 2,000 devices on a 400,000-device fleet).
 */

/**
 * `input` must be a CTE named `input` with (work_order_id, device_id, site_id, account_number,
 * rev_credentials_id, rev_service_id) — the work order's — and `dt`, the device's ownership row
 * before the step (columns prefixed `prev_`, all null when it had none): the new ownership, the
 * upsert and the history rows follow from it. Every value written is computed once, in `planned`,
 * and both the ownership row and its history take it from there: the history's "after" is what
 * was written by construction, and no statement joins two CTEs (their row estimates are 1, and a
 * nested loop over two 5,000-row CTEs took 4.3 s).
 */
function upsertOwnership(ctx: ChunkContext, revPath: boolean): RawBuilder<unknown> {
  // The previous owner was this customer, active and not deleted: its billing fields are still its own.
  const keepsBilling = sql`(i.prev_customer_id = ${ctx.customerId}::bigint AND i.prev_is_active AND NOT i.prev_is_deleted)`;
  return sql`
    planned AS (
      SELECT i.device_id, i.site_id,
             CASE WHEN i.prev_device_id IS NOT NULL THEN
               jsonb_build_object('customerId', i.prev_customer_id, 'siteId', i.prev_site_id,
                                  'accountNumber', i.prev_account_number, 'revCredentialsId', i.prev_rev_credentials_id,
                                  'revServiceId', i.prev_rev_service_id, 'isActive', i.prev_is_active,
                                  'isDeleted', i.prev_is_deleted) END AS before,
             CASE WHEN ${revPath} THEN i.account_number WHEN ${keepsBilling} THEN i.prev_account_number END AS account_number,
             CASE WHEN ${revPath} THEN i.rev_credentials_id WHEN ${keepsBilling} THEN i.prev_rev_credentials_id END
               AS rev_credentials_id,
             CASE WHEN ${revPath} THEN i.rev_service_id WHEN ${keepsBilling} THEN i.prev_rev_service_id END AS rev_service_id
      FROM input i
    ), upserted AS (
      INSERT INTO device_tenant (tenant_id, device_id, customer_id, site_id, account_number, rev_credentials_id,
                                 rev_service_id, is_active, is_deleted, modified_at, modified_by)
      SELECT ${ctx.tenantId}, p.device_id, ${ctx.customerId}, p.site_id, p.account_number, p.rev_credentials_id,
             p.rev_service_id, true, false, now(), ${ctx.createdBy}
      FROM planned p
      ON CONFLICT (device_id, tenant_id) DO UPDATE
        SET customer_id = EXCLUDED.customer_id, site_id = EXCLUDED.site_id, account_number = EXCLUDED.account_number,
            rev_credentials_id = EXCLUDED.rev_credentials_id, rev_service_id = EXCLUDED.rev_service_id,
            is_active = true, is_deleted = false, modified_at = now(), modified_by = EXCLUDED.modified_by
    ), history AS (
      INSERT INTO device_history (tenant_id, device_id, bulk_change_id, change_type, before, after, changed_by)
      SELECT ${ctx.tenantId}, p.device_id, ${ctx.bulkChangeId}, 'customer_assignment', p.before,
             jsonb_build_object('customerId', ${ctx.customerId}::bigint, 'siteId', p.site_id,
                                'accountNumber', p.account_number, 'revCredentialsId', p.rev_credentials_id,
                                'revServiceId', p.rev_service_id, 'isActive', true, 'isDeleted', false),
             ${ctx.createdBy}
      FROM planned p
    )`;
}

/** The device's ownership row before the step (`dt`), as `upsertOwnership` reads it. */
const PREVIOUS = sql`dt.device_id AS prev_device_id, dt.customer_id AS prev_customer_id, dt.site_id AS prev_site_id,
                     dt.account_number AS prev_account_number, dt.rev_credentials_id AS prev_rev_credentials_id,
                     dt.rev_service_id AS prev_rev_service_id, dt.is_active AS prev_is_active,
                     dt.is_deleted AS prev_is_deleted`;

/** The ownership step of these work orders, with their history (the Rev path's, and any other step-by-step run). */
export async function assignOwnership(
  db: Executor,
  ctx: ChunkContext,
  ids: number[],
  revPath: boolean,
): Promise<void> {
  if (ids.length === 0) return;
  await sql`
    WITH input AS (
      SELECT w.id AS work_order_id, w.device_id, (w.request->>'siteId')::bigint AS site_id,
             (w.request->>'revCustomerId')::text AS account_number, (w.request->>'revCredentialsId')::bigint AS rev_credentials_id,
             rs.service_id AS rev_service_id, ${PREVIOUS}
      FROM bulk_change_device w
      LEFT JOIN rev_service rs ON rs.bulk_change_device_id = w.id AND rs.status = 'created'
      LEFT JOIN device_tenant dt ON dt.device_id = w.device_id AND dt.tenant_id = ${ctx.tenantId}
      WHERE w.id = ANY(${ids}::bigint[])
    ), ${upsertOwnership(ctx, revPath)}
    SELECT 1
  `.execute(db);
}

/**
 * The bulk change has begun (PROCESSING, started_at) when this chunk has work to claim. Run first in
 * the group's transaction: the bulk change's row lock is then taken before the work orders', in
 * the order a cancel takes them, so the two cannot deadlock. Matches nothing (takes no lock) once
 * the bulk change is PROCESSING.
 */
export async function markStarted(db: Executor, bulkChangeId: number, chunk: number): Promise<void> {
  await sql`
    UPDATE bulk_change SET status = 'PROCESSING', started_at = coalesce(started_at, now())
    WHERE id = ${bulkChangeId} AND status = 'NEW'
      AND EXISTS (SELECT 1 FROM bulk_change_device WHERE bulk_change_id = ${bulkChangeId} AND chunk = ${chunk}
                  AND status IN ('PENDING', 'PROCESSING'))
  `.execute(db);
}

/**
 * A group of a chunk whose steps are all local (the AMOP path: ownership, and the customer rate
 * plan when asked), claimed and finished by ONE write of each work order: PENDING → PROCESSED with
 * its steps, attempts and times, in the same statement as the ownership, its history and its
 * change-log entry. The caller runs it in the transaction that also applies the customer rate plan,
 * so a device has all its steps or none, and nobody ever sees it half done (no PROCESSING on this
 * path: a worker killed mid-group leaves the group PENDING, and the next run does it whole).
 *
 * A cancel and this claim serialise on the rows' locks: the UPDATE re-checks each row's status
 * after a concurrent cancel commits, so each device is either processed or cancelled, never both.
 * Measured on 100,000 devices: the claim, step-done and processed rewrites of each work order were
 * 11 of the 42 s the worker took. Returns the group, with each work order's steps as they were
 * before (a work order re-opened by "retry failed" may have done some of them).
 *
 * The work order's request keeps only its own half (the effective date), and the whole snapshot is
 * built only for the groups whose items are returned: the site is read from the bulk change's half.
 * Writing the whole snapshot into 100,000 rows (a jsonb merge and ~300 bytes more each) cost ~0.5 s
 * of the 3.2 s the worker took for them (issue 13, B1); nothing reads it from a finished row.
 */
export async function finishLocalGroup(
  db: Executor,
  ctx: ChunkContext,
  params: {
    chunk: number;
    limit: number;
    steps: string[];
    description: string;
    /**
     * Return the group's work orders (a later step of the transaction needs them); otherwise only
     * how many there were, and how many had not done the ownership step before — 5,000 rows with
     * their request snapshot, parsed and kept per group for nothing but two counts, cost the
     * worker more than the statement did to return them (issue 13, B1 and B4).
     */
    items: boolean;
  },
): Promise<{ devices: number; ownershipNew: number; items: WorkItem[] }> {
  const { rows } = await sql<WorkItem & { devices: number; ownershipNew: number }>`
    WITH next AS (
      SELECT id, steps_done FROM bulk_change_device
      WHERE bulk_change_id = ${ctx.bulkChangeId} AND chunk = ${params.chunk} AND status IN ('PENDING', 'PROCESSING')
      ORDER BY id
      LIMIT ${params.limit}
    ), done AS (
      UPDATE bulk_change_device w
      SET status = 'PROCESSED', error_category = NULL, message = NULL,
          steps_done = w.steps_done || ARRAY(SELECT s FROM unnest(${params.steps}::text[]) AS s WHERE s <> ALL (w.steps_done)),
          attempts = w.attempts + 1, started_at = coalesce(w.started_at, now()), processed_at = now(), updated_at = now()
      FROM next
      WHERE w.id = next.id AND w.status IN ('PENDING', 'PROCESSING')
      RETURNING w.id, w.device_id, w.iccid, w.msisdn, w.request, next.steps_done, w.attempts
    ), input AS (
      SELECT d.id AS work_order_id, d.device_id, (coalesce(${bulkHalf(ctx.bulkChangeId)}, d.request)->>'siteId')::bigint AS site_id,
             NULL::text AS account_number, NULL::bigint AS rev_credentials_id, NULL::bigint AS rev_service_id,
             ${PREVIOUS}
      FROM done d
      LEFT JOIN device_tenant dt ON dt.device_id = d.device_id AND dt.tenant_id = ${ctx.tenantId}
      WHERE 'ownership' <> ALL (d.steps_done)
    ), ${upsertOwnership(ctx, false)}, logged AS (
      INSERT INTO change_log (tenant_id, bulk_change_id, bulk_change_device_id, device_id, description, portal_type,
                              has_error, processed_by, submitted_by)
      SELECT ${ctx.tenantId}, ${ctx.bulkChangeId}, i.work_order_id, i.device_id, ${params.description},
             ${ctx.portalType}, false, ${ctx.processedBy}, ${ctx.submittedBy}
      FROM input i
    )
    ${
      params.items
        ? sql`SELECT id, device_id AS "deviceId", iccid, msisdn, ${completeRequest(ctx.bulkChangeId)} AS request,
                     steps_done AS "stepsDone", attempts
              FROM done w`
        : sql`SELECT count(*)::int AS devices, (count(*) FILTER (WHERE 'ownership' <> ALL (steps_done)))::int AS "ownershipNew"
              FROM done`
    }
  `.execute(db);
  if (!params.items)
    return { devices: rows[0]?.devices ?? 0, ownershipNew: rows[0]?.ownershipNew ?? 0, items: [] };
  const items = rows.sort((a, b) => a.id - b.id);
  const ownershipNew = items.filter((item) => !item.stepsDone.includes('ownership')).length;
  return { devices: items.length, ownershipNew, items };
}
