import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { ErrorCategory, PortalType } from '../schema.ts';

export { applyCarrierPlan, applyCustomerRatePlan, type CustomerPlanChange } from './plan-apply.repository.ts';

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
 * The whole request snapshot of work order `w` (of bulk change `bulkChangeId`): the bulk change's
 * half, the device's columns, and what the row holds (its effective date; or, claimed before, all
 * of it — the same values again). Written into the row by a claim for external steps; read, not
 * written, by the local path. A bulk change without a half of its own (undo; submitted before
 * 0026) gives the row's request as it is.
 */
export function completeRequest(bulkChangeId: number) {
  return sql`coalesce(${bulkHalf(bulkChangeId)}
                      || jsonb_build_object('deviceId', w.device_id, 'iccid', w.iccid, 'msisdn', w.msisdn)
                      || w.request,
                      w.request)`;
}

/** The bulk change's half of its work orders' request snapshot (NULL: they hold it whole). */
export function bulkHalf(bulkChangeId: number) {
  return sql`(SELECT b.work_order_request FROM bulk_change b WHERE b.id = ${bulkChangeId})`;
}

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
    SET status = 'PROCESSING', started_at = coalesce(w.started_at, now()), attempts = w.attempts + 1, updated_at = now(),
        request = ${completeRequest(bulkChangeId)}
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
