import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { ChunkContext, WorkItem } from './processing.repository.ts';

/**
 * The worker's plan writes: customer rate plan / pool and carrier plan, each for a chunk's work
 * orders at once, applied now when their effective date has come and scheduled otherwise, with
 * device history. Re-exported by processing.repository.ts, where the other chunk writes are.
 */

export interface CustomerPlanChange {
  ratePlanId: number | null;
  ratePoolId: number | null;
}

/**
 * The customer rate plan / pool for the devices whose effective date has come (applied now) and a
 * scheduled change for the others. Returns the ids of work orders that got a scheduled change.
 */
export async function applyCustomerRatePlan(
  db: Executor,
  ctx: ChunkContext,
  ids: number[],
  change: CustomerPlanChange,
  today: string,
): Promise<{ appliedIds: number[]; scheduledIds: number[] }> {
  if (ids.length === 0) return { appliedIds: [], scheduledIds: [] };
  const { rows: applied } = await sql<{ work_order_id: number }>`
    WITH plan AS (SELECT data_allocation_mb FROM customer_rate_plan WHERE id = ${change.ratePlanId}::bigint),
    due AS (
      SELECT w.id AS work_order_id, w.device_id FROM bulk_change_device w
      WHERE w.id = ANY(${ids}::bigint[]) AND (w.request->>'effectiveDate')::date <= ${today}::date
    ), previous AS (
      SELECT dt.device_id, jsonb_build_object('ratePlanId', dt.customer_rate_plan_id, 'ratePoolId', dt.customer_rate_pool_id,
                                              'dataAllocationMb', dt.data_allocation_mb) AS before
      FROM device_tenant dt JOIN due ON due.device_id = dt.device_id AND dt.tenant_id = ${ctx.tenantId}
    ), updated AS (
      UPDATE device_tenant dt
      SET customer_rate_plan_id = coalesce(${change.ratePlanId}::bigint, dt.customer_rate_plan_id),
          customer_rate_pool_id = coalesce(${change.ratePoolId}::bigint, dt.customer_rate_pool_id),
          data_allocation_mb = coalesce((SELECT data_allocation_mb FROM plan), dt.data_allocation_mb),
          modified_at = now(), modified_by = ${ctx.createdBy}
      FROM due WHERE dt.device_id = due.device_id AND dt.tenant_id = ${ctx.tenantId}
      RETURNING due.work_order_id, dt.device_id, dt.customer_rate_plan_id, dt.customer_rate_pool_id, dt.data_allocation_mb
    ), history AS (
      INSERT INTO device_history (tenant_id, device_id, bulk_change_id, change_type, before, after, changed_by)
      SELECT ${ctx.tenantId}, u.device_id, ${ctx.bulkChangeId}, 'customer_rate_plan', p.before,
             jsonb_build_object('ratePlanId', u.customer_rate_plan_id, 'ratePoolId', u.customer_rate_pool_id,
                                'dataAllocationMb', u.data_allocation_mb),
             ${ctx.createdBy}
      FROM updated u LEFT JOIN previous p ON p.device_id = u.device_id
    )
    SELECT work_order_id FROM updated
  `.execute(db);

  const { rows: scheduled } = await sql<{ work_order_id: number }>`
    INSERT INTO scheduled_rate_plan_change (tenant_id, device_id, bulk_change_id, bulk_change_device_id,
                                            customer_rate_plan_id, customer_rate_pool_id, data_allocation_mb,
                                            effective_date, portal_type, created_by)
    SELECT ${ctx.tenantId}, w.device_id, ${ctx.bulkChangeId}, w.id, ${change.ratePlanId}::bigint, ${change.ratePoolId}::bigint,
           (SELECT data_allocation_mb FROM customer_rate_plan WHERE id = ${change.ratePlanId}::bigint),
           (w.request->>'effectiveDate')::date, ${ctx.portalType}, ${ctx.createdBy}
    FROM bulk_change_device w
    WHERE w.id = ANY(${ids}::bigint[]) AND (w.request->>'effectiveDate')::date > ${today}::date
    ON CONFLICT (bulk_change_device_id) DO NOTHING
    RETURNING bulk_change_device_id AS work_order_id
  `.execute(db);

  return {
    appliedIds: applied.map((r) => r.work_order_id),
    scheduledIds: scheduled.map((r) => r.work_order_id),
  };
}

/**
 * The carrier's plan as confirmed by the carrier. A change in force today goes on the device row,
 * with history; a future-dated one (sent with its date: Jasper `effectiveDate`, ThingSpace
 * `takeEffect`) is kept as a `scheduled_carrier_plan_change`, with a `carrier_rate_plan_scheduled`
 * history entry, until the scheduler moves it onto the row on its date.
 */
export async function applyCarrierPlan(
  db: Executor,
  ctx: Pick<ChunkContext, 'tenantId' | 'bulkChangeId' | 'createdBy'>,
  items: Pick<WorkItem, 'id' | 'deviceId' | 'request'>[],
  plan: { ratePlan: string; communicationPlan: string | null },
  today: string,
): Promise<void> {
  const [later, now] = partition(items, (item) => item.request.effectiveDate > today);
  const deviceIds = now.map((item) => item.deviceId);
  if (deviceIds.length > 0) {
    await sql`
      WITH previous AS (
        SELECT id, carrier_rate_plan, communication_plan FROM device WHERE id = ANY(${deviceIds}::bigint[])
      ), updated AS (
        UPDATE device d SET carrier_rate_plan = ${plan.ratePlan},
                            communication_plan = coalesce(${plan.communicationPlan}, d.communication_plan),
                            updated_at = now()
        WHERE d.id = ANY(${deviceIds}::bigint[])
        RETURNING d.id, d.carrier_rate_plan, d.communication_plan
      )
      INSERT INTO device_history (tenant_id, device_id, bulk_change_id, change_type, before, after, changed_by)
      SELECT ${ctx.tenantId}, u.id, ${ctx.bulkChangeId}, 'carrier_rate_plan',
             jsonb_build_object('ratePlan', p.carrier_rate_plan, 'communicationPlan', p.communication_plan),
             jsonb_build_object('ratePlan', u.carrier_rate_plan, 'communicationPlan', u.communication_plan),
             ${ctx.createdBy}
      FROM updated u JOIN previous p ON p.id = u.id
    `.execute(db);
  }
  if (later.length > 0) {
    await sql`
      WITH scheduled AS (
        INSERT INTO scheduled_carrier_plan_change (tenant_id, device_id, bulk_change_id, bulk_change_device_id,
                                                   carrier_rate_plan, communication_plan, effective_date, created_by)
        SELECT ${ctx.tenantId}, w.device_id, ${ctx.bulkChangeId}, w.id, ${plan.ratePlan}, ${plan.communicationPlan}::text,
               (w.request->>'effectiveDate')::date, ${ctx.createdBy}
        FROM bulk_change_device w
        WHERE w.id = ANY(${later.map((item) => item.id)}::bigint[])
        ON CONFLICT (bulk_change_device_id) DO NOTHING
        RETURNING device_id, carrier_rate_plan, communication_plan, effective_date
      )
      INSERT INTO device_history (tenant_id, device_id, bulk_change_id, change_type, before, after, changed_by)
      SELECT ${ctx.tenantId}, s.device_id, ${ctx.bulkChangeId}, 'carrier_rate_plan_scheduled',
             jsonb_build_object('ratePlan', d.carrier_rate_plan, 'communicationPlan', d.communication_plan),
             jsonb_build_object('ratePlan', s.carrier_rate_plan,
                                'communicationPlan', coalesce(s.communication_plan, d.communication_plan),
                                'effectiveDate', s.effective_date),
             ${ctx.createdBy}
      FROM scheduled s JOIN device d ON d.id = s.device_id
    `.execute(db);
  }
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  const yes: T[] = [];
  const no: T[] = [];
  for (const item of items) (test(item) ? yes : no).push(item);
  return [yes, no];
}
