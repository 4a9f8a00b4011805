import { sql } from 'kysely';
import { arrayLiteral } from '../array-literal.ts';
import type { Executor } from '../database.ts';
import { isUniqueViolation } from '../pg-errors.ts';
import type { ErrorCategory, PortalType, WorkOrderStatus } from '../schema.ts';

/**
 * Writes of bulk changes and their work orders; the counts and the reads are in
 * bulk-change-counts.repository.ts and bulk-change-reads.repository.ts, re-exported here. Work orders
 * are always written set-based (`INSERT … SELECT FROM unnest(…)`): 100,000 devices are one statement,
 * not 100,000.
 */

export * from './bulk-change-counts.repository.ts';
export * from './bulk-change-reads.repository.ts';

export interface NewBulkChange {
  tenantId: number;
  serviceProviderId: number;
  portalType: PortalType;
  customerId: number;
  siteId: number | null;
  options: unknown;
  totalCount: number;
  createdBy: number;
  idempotencyKey: string | null;
  requestHash: string | null;
  source: 'api' | 'ui' | 'legacy';
  /** The bulk-level half of its work orders' request snapshot. */
  workOrderRequest: BulkWorkOrderRequest;
}

/**
 * What every work order of a bulk change is asked, taken at submission: written once on the bulk
 * change, and joined to each work order's own half (device, ICCID, MSISDN, effective date) when a
 * worker claims it (`completeRequest` in processing.repository.ts).
 */
export interface BulkWorkOrderRequest {
  customerId: number;
  siteId: number | null;
  revCustomerId: number | null;
  revCredentialsId: number | null;
  activatedDate: string;
}

export async function insertBulkChange(db: Executor, change: NewBulkChange): Promise<number> {
  const row = await db
    .insertInto('bulk_change')
    .values({
      tenant_id: change.tenantId,
      change_type: 'customer_assignment',
      service_provider_id: change.serviceProviderId,
      portal_type: change.portalType,
      customer_id: change.customerId,
      site_id: change.siteId,
      options: JSON.stringify(change.options),
      total_count: change.totalCount,
      created_by: change.createdBy,
      idempotency_key: change.idempotencyKey,
      request_hash: change.requestHash,
      source: change.source,
      work_order_request: JSON.stringify(change.workOrderRequest),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function findByIdempotencyKey(db: Executor, tenantId: number, userId: number, key: string) {
  return db
    .selectFrom('bulk_change')
    .select(['id', 'status', 'request_hash'])
    .where('tenant_id', '=', tenantId)
    .where('created_by', '=', userId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
}

/** One work order to write; arrays of these become the columns of one unnest(). */
export interface NewWorkOrder {
  identifier: string;
  deviceId: number | null;
  iccid: string | null;
  msisdn: string | null;
  status: Extract<WorkOrderStatus, 'PENDING' | 'ERROR'>;
  errorCategory: ErrorCategory | null;
  message: string | null;
  chunk: number | null;
  /** The device's effective date (request's, else its activation date, else today). */
  effectiveDate: string | null;
}

export interface WorkOrderContext {
  tenantId: number;
  bulkChangeId: number;
}

/**
 * Inserts the work orders. A PENDING one whose device already sits in an open work order of
 * another bulk change (committed after our validation read) is skipped by the partial unique index
 * `bulk_change_device_open_key`; the caller records those as conflicts. Returns the identifiers of
 * the PENDING work orders that were NOT written.
 *
 * A work order's request holds only its effective date: the rest of its snapshot is on the bulk
 * change (`insertBulkChange`) or in its own columns, and the claim writes it whole
 * (`completeRequest` in processing.repository.ts). Measured on 100,000 devices (PostgreSQL 18):
 * writing the whole snapshot into every row made this insert ~25 % slower (2.4 vs 1.9 s), in the
 * transaction every device waits for. The device order is sorted on the narrow input rows; and the losers are looked for only
 * when fewer rows were written than sent (returning every identifier to anti-join it took another
 * 0.4 s, for a race that is almost never lost).
 */
export async function insertWorkOrders(
  db: Executor,
  ctx: WorkOrderContext,
  orders: NewWorkOrder[],
): Promise<string[]> {
  if (orders.length === 0) return [];
  // Device order: two bulk changes racing for the same devices take this slice's index entries in
  // the same order, so the later one waits for the earlier instead of deadlocking with it (across
  // slices they may not: retryOnDeadlock runs the victim's submission again). Sorted here
  // (a numeric sort of 100,000 keys, ~20 ms) rather than by the statement, which sorted the wide
  // rows in 32 MB of work_mem; the rows are inserted in the arrays' order.
  const sorted = [...orders].sort((a, b) => (a.deviceId ?? Infinity) - (b.deviceId ?? Infinity));
  const col = <K extends keyof NewWorkOrder>(key: K) => arrayLiteral(sorted.map((o) => o[key]));
  const insert = (skipOpen: boolean) => sql`
    INSERT INTO bulk_change_device (tenant_id, bulk_change_id, device_id, identifier, iccid, msisdn, status,
                                    error_category, message, chunk, request, processed_at)
    SELECT ${ctx.tenantId}, ${ctx.bulkChangeId}, t.device_id, t.identifier, t.iccid, t.msisdn, t.status,
           t.error_category, t.message, t.chunk,
           CASE WHEN t.device_id IS NOT NULL THEN jsonb_build_object('effectiveDate', t.effective_date) END,
           CASE WHEN t.status = 'ERROR' THEN now() END
    FROM (
      SELECT * FROM unnest(
        ${col('identifier')}::text[], ${col('deviceId')}::bigint[], ${col('iccid')}::text[], ${col('msisdn')}::text[],
        ${col('status')}::text[], ${col('errorCategory')}::text[], ${col('message')}::text[], ${col('chunk')}::int[],
        ${col('effectiveDate')}::date[]
      ) AS t(identifier, device_id, iccid, msisdn, status, error_category, message, chunk, effective_date)
    ) AS t
    ${skipOpen ? sql`ON CONFLICT (device_id) WHERE status IN ('PENDING', 'PROCESSING', 'WAITING_CARRIER') DO NOTHING` : sql``}
  `;
  // Validation saw none of these devices in an open work order, so the plain insert is the rule: a
  // device another submission took since is the exception, and only then is the insert redone
  // skipping the devices already held. ON CONFLICT on every row (a speculative insertion each, a
  // lock and an extra WAL record per row) made the 100,000-row insert ~10 % slower.
  await sql`SAVEPOINT work_orders`.execute(db);
  let result;
  try {
    result = await insert(false).execute(db);
    await sql`RELEASE SAVEPOINT work_orders`.execute(db);
  } catch (error) {
    if (!isUniqueViolation(error, 'bulk_change_device_open_key')) throw error;
    await sql`ROLLBACK TO SAVEPOINT work_orders`.execute(db);
    result = await insert(true).execute(db);
  }
  if (Number(result.numAffectedRows ?? 0) === orders.length) return [];
  const pending = orders.filter((o) => o.status === 'PENDING').map((o) => o.identifier);
  const { rows } = await sql<{ identifier: string }>`
    SELECT i.identifier FROM unnest(${arrayLiteral(pending)}::text[]) AS i(identifier)
    WHERE NOT EXISTS (SELECT 1 FROM bulk_change_device w
                      WHERE w.bulk_change_id = ${ctx.bulkChangeId} AND w.identifier = i.identifier)
  `.execute(db);
  return rows.map((r) => r.identifier);
}

/** Writes the race losers of `insertWorkOrders` as conflicts, naming the bulk change that holds each. */
export async function insertConflictWorkOrders(
  db: Executor,
  ctx: WorkOrderContext,
  orders: NewWorkOrder[],
  /** A format() template whose %s is the holding bulk change's id. */
  messageTemplate: string,
): Promise<void> {
  if (orders.length === 0) return;
  await sql`
    INSERT INTO bulk_change_device (tenant_id, bulk_change_id, device_id, identifier, iccid, msisdn, status,
                                    error_category, message, processed_at)
    SELECT ${ctx.tenantId}, ${ctx.bulkChangeId}, t.device_id, t.identifier, t.iccid, t.msisdn, 'ERROR', 'eligibility',
           format(${messageTemplate}::text, coalesce((SELECT o.bulk_change_id::text FROM bulk_change_device o
                                                     WHERE o.device_id = t.device_id
                                                       AND o.status IN ('PENDING', 'PROCESSING', 'WAITING_CARRIER')),
                                                    'another')),
           now()
    FROM unnest(${arrayLiteral(orders.map((o) => o.identifier))}::text[], ${arrayLiteral(orders.map((o) => o.deviceId))}::bigint[],
                ${arrayLiteral(orders.map((o) => o.iccid))}::text[], ${arrayLiteral(orders.map((o) => o.msisdn))}::text[])
         AS t(identifier, device_id, iccid, msisdn)
  `.execute(db);
}

/** One change-log entry per rejected work order of the bulk change, in one statement. */
export async function insertRejectionLogs(
  db: Executor,
  params: {
    bulkChangeId: number;
    portalType: PortalType;
    processedBy: string;
    submittedBy: string;
    description: string;
  },
): Promise<void> {
  await sql`
    INSERT INTO change_log (tenant_id, bulk_change_id, bulk_change_device_id, device_id, description, portal_type,
                            request_text, response_status, has_error, error_text, processed_by, submitted_by)
    SELECT w.tenant_id, w.bulk_change_id, w.id, w.device_id, ${params.description}, ${params.portalType},
           w.identifier, w.error_category, true, w.message, ${params.processedBy}, ${params.submittedBy}
    FROM bulk_change_device w
    WHERE w.bulk_change_id = ${params.bulkChangeId} AND w.status = 'ERROR'
  `.execute(db);
}

/** The chunk numbers that have pending work, for enqueueing one job per chunk. */
export async function pendingChunks(db: Executor, bulkChangeId: number): Promise<number[]> {
  const rows = await db
    .selectFrom('bulk_change_device')
    .select('chunk')
    .distinct()
    .where('bulk_change_id', '=', bulkChangeId)
    .where('status', '=', 'PENDING')
    .where('chunk', 'is not', null)
    .orderBy('chunk')
    .execute();
  return rows.map((r) => r.chunk!);
}
