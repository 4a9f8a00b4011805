import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { ErrorCategory, PortalType } from '../schema.ts';

/**
 * Writes of the worker. Every statement takes the work orders of a chunk as arrays and touches them
 * all at once (`… FROM unnest(…)`, `WHERE id = ANY(…)`): a chunk of 500 devices costs the same
 * number of round trips as a chunk of one.
 */

export interface ChunkContext {
  bulkChangeId: number;
  tenantId: number;
  portalType: PortalType;
  customerId: number;
  createdBy: number;
  /** The person who submitted the bulk change (e-mail), recorded on each change-log entry. */
  submittedBy: string;
  /** The process that runs the step: a worker, the scheduler, a ThingSpace callback. */
  processedBy: string;
}

export interface WorkItem {
  id: number;
  deviceId: number;
  iccid: string;
  msisdn: string | null;
  request: {
    customerId: number;
    siteId: number | null;
    revCustomerId: number | null;
    revCredentialsId: number | null;
    effectiveDate: string;
    activatedDate: string;
  };
  stepsDone: string[];
  /** How many times a worker has claimed it: > 1 means an earlier run may have made external calls. */
  attempts: number;
}

export async function loadBulkChange(db: Executor, id: number) {
  return db
    .selectFrom('bulk_change as b')
    .innerJoin('service_provider as sp', 'sp.id', 'b.service_provider_id')
    .innerJoin('app_user as u', 'u.id', 'b.created_by')
    .select([
      'b.id',
      'b.tenant_id',
      'b.status',
      'b.options',
      'b.portal_type',
      'b.customer_id',
      'b.created_by',
      'b.cancel_requested_at',
      'b.started_at',
      'sp.integration',
      'sp.credentials_id',
      'u.email as created_by_email',
      'u.name as created_by_name',
    ])
    .where('b.id', '=', id)
    .executeTakeFirst();
}

export type BulkChangeContextRow = NonNullable<Awaited<ReturnType<typeof loadBulkChange>>>;

/**
 * Claims the chunk's next group of work orders (PENDING → PROCESSING): a claimed device has begun
 * and goes through all its steps; one left PENDING can still be cancelled. PROCESSING ones come
 * first: they belong to a run that died (the caller holds the chunk's advisory lock, so no live run
 * owns them). A cancel and a claim serialise on the rows' locks, so each device is either claimed
 * or cancelled, never both.
 */
export async function claimGroup(
  db: Executor,
  bulkChangeId: number,
  chunk: number,
  limit: number,
): Promise<WorkItem[]> {
  await sql`
    UPDATE bulk_change SET status = 'PROCESSING', started_at = coalesce(started_at, now())
    WHERE id = ${bulkChangeId} AND status = 'NEW'
  `.execute(db);
  const { rows } = await sql<WorkItem>`
    WITH next AS (
      SELECT id FROM bulk_change_device
      WHERE bulk_change_id = ${bulkChangeId} AND chunk = ${chunk} AND status IN ('PENDING', 'PROCESSING')
      ORDER BY status = 'PROCESSING' DESC, id
      LIMIT ${limit}
      FOR UPDATE
    )
    UPDATE bulk_change_device w
    SET status = 'PROCESSING', started_at = coalesce(w.started_at, now()), attempts = w.attempts + 1, updated_at = now()
    FROM next
    WHERE w.id = next.id AND w.status IN ('PENDING', 'PROCESSING')
    RETURNING w.id, w.device_id AS "deviceId", w.iccid, w.msisdn, w.request, w.steps_done AS "stepsDone", w.attempts
  `.execute(db);
  return rows.sort((a, b) => a.id - b.id);
}

export async function markStepDone(db: Executor, ids: number[], step: string): Promise<void> {
  if (ids.length === 0) return;
  await sql`
    UPDATE bulk_change_device SET steps_done = array_append(steps_done, ${step}), updated_at = now()
    WHERE id = ANY(${ids}::bigint[]) AND NOT (${step} = ANY(steps_done))
  `.execute(db);
}

export interface Failure {
  id: number;
  category: ErrorCategory;
  message: string;
  retryable: boolean;
}

export async function failWorkOrders(db: Executor, failures: Failure[]): Promise<void> {
  if (failures.length === 0) return;
  await sql`
    UPDATE bulk_change_device w
    SET status = 'ERROR', error_category = f.category, message = f.message, retryable = f.retryable,
        processed_at = now(), updated_at = now()
    FROM unnest(${failures.map((f) => f.id)}::bigint[], ${failures.map((f) => f.category)}::text[],
                ${failures.map((f) => f.message)}::text[], ${failures.map((f) => f.retryable)}::boolean[])
         AS f(id, category, message, retryable)
    WHERE w.id = f.id AND w.status IN ('PROCESSING', 'WAITING_CARRIER')
  `.execute(db);
}

export async function markProcessed(db: Executor, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`
    UPDATE bulk_change_device
    SET status = 'PROCESSED', error_category = NULL, message = NULL, processed_at = now(), updated_at = now()
    WHERE id = ANY(${ids}::bigint[]) AND status IN ('PROCESSING', 'WAITING_CARRIER')
  `.execute(db);
}

export interface LogEntry {
  workOrderId: number;
  deviceId: number;
  description: string;
  requestText: string | null;
  responseStatus: string | null;
  responseText: string | null;
  hasError: boolean;
  errorText: string | null;
  /** The external system the request went to; absent or null for a local step. */
  system?: string | null;
}

export async function insertLogs(db: Executor, ctx: ChunkContext, entries: LogEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const col = <K extends keyof LogEntry>(key: K) => entries.map((e) => e[key]);
  await sql`
    INSERT INTO change_log (tenant_id, bulk_change_id, bulk_change_device_id, device_id, description, portal_type,
                            request_text, response_status, response_text, has_error, error_text, processed_by,
                            submitted_by, system)
    SELECT ${ctx.tenantId}, ${ctx.bulkChangeId}, e.work_order_id, e.device_id, e.description, ${ctx.portalType},
           e.request_text, e.response_status, e.response_text, e.has_error, e.error_text, ${ctx.processedBy},
           ${ctx.submittedBy}, e.system
    FROM unnest(${col('workOrderId')}::bigint[], ${col('deviceId')}::bigint[], ${col('description')}::text[],
                ${col('requestText')}::text[], ${col('responseStatus')}::text[], ${col('responseText')}::text[],
                ${col('hasError')}::boolean[], ${col('errorText')}::text[], ${entries.map((e) => e.system ?? null)}::text[])
         AS e(work_order_id, device_id, description, request_text, response_status, response_text, has_error, error_text,
              system)
  `.execute(db);
}

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

/**
 * Whether any work order of the bulk change is still open. EXISTS, not a count: each chunk asks it
 * when it ends, and counting the open rest of a 100,000-device change (through the dead index
 * entries of rows just processed) took up to 400 ms a chunk.
 */
export async function hasOpenWorkOrders(db: Executor, bulkChangeId: number): Promise<boolean> {
  const { rows } = await sql<{ open: boolean }>`
    SELECT EXISTS (SELECT 1 FROM bulk_change_device
                   WHERE bulk_change_id = ${bulkChangeId} AND status IN ('PENDING', 'PROCESSING', 'WAITING_CARRIER')) AS open
  `.execute(db);
  return rows[0]?.open ?? false;
}
