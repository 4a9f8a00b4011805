import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { BulkChangeStatus, ErrorCategory, PortalType, WorkOrderStatus } from '../schema.ts';
import { stepOf, type ChangeLogStep } from './change-log-steps.ts';

/**
 * Writes and reads of bulk changes and their work orders. Work orders are always written
 * set-based (`INSERT … SELECT FROM unnest(…)`): 100,000 devices are one statement, not 100,000.
 */

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
  customerId: number;
  siteId: number | null;
  revCustomerId: number | null;
  revCredentialsId: number | null;
  activatedDate: string;
}

/**
 * Inserts the work orders. A PENDING one whose device already sits in an open work order of
 * another bulk change (committed after our validation read) is skipped by the partial unique index
 * `bulk_change_device_open_key`; the caller records those as conflicts. Returns the identifiers of
 * the PENDING work orders that were NOT written.
 *
 * Measured on 100,000 devices (PostgreSQL 18): the request snapshot's bulk-level half is built once
 * and joined to each device's half (1.8 → 1.5 s for the insert alone); the device order is sorted
 * on the narrow input rows, before the snapshots are built (sorting the wide rows spilled 33 MB to
 * disk); and the losers are looked for only when fewer rows were written than sent (returning every
 * identifier to anti-join it took another 0.4 s, for a race that is almost never lost).
 */
export async function insertWorkOrders(
  db: Executor,
  ctx: WorkOrderContext,
  orders: NewWorkOrder[],
): Promise<string[]> {
  if (orders.length === 0) return [];
  const col = <K extends keyof NewWorkOrder>(key: K) => orders.map((o) => o[key]);
  // The sort of 100,000 narrow rows fits in 32 MB; the default 4 MB sends it to disk.
  await sql`SET LOCAL work_mem = '32MB'`.execute(db);
  const result = await sql`
    INSERT INTO bulk_change_device (tenant_id, bulk_change_id, device_id, identifier, iccid, msisdn, status,
                                    error_category, message, chunk, request, processed_at)
    SELECT ${ctx.tenantId}, ${ctx.bulkChangeId}, t.device_id, t.identifier, t.iccid, t.msisdn, t.status,
           t.error_category, t.message, t.chunk,
           CASE WHEN t.device_id IS NOT NULL THEN
             (SELECT jsonb_build_object('customerId', ${ctx.customerId}::bigint, 'siteId', ${ctx.siteId}::bigint,
                                        'revCustomerId', ${ctx.revCustomerId}::bigint,
                                        'revCredentialsId', ${ctx.revCredentialsId}::bigint,
                                        'activatedDate', ${ctx.activatedDate}::date))
             || jsonb_build_object('deviceId', t.device_id, 'iccid', t.iccid, 'msisdn', t.msisdn,
                                   'effectiveDate', t.effective_date) END,
           CASE WHEN t.status = 'ERROR' THEN now() END
    FROM (
      SELECT * FROM unnest(
        ${col('identifier')}::text[], ${col('deviceId')}::bigint[], ${col('iccid')}::text[], ${col('msisdn')}::text[],
        ${col('status')}::text[], ${col('errorCategory')}::text[], ${col('message')}::text[], ${col('chunk')}::int[],
        ${col('effectiveDate')}::date[]
      ) AS t(identifier, device_id, iccid, msisdn, status, error_category, message, chunk, effective_date)
      -- Device order: two bulk changes racing for the same devices take their index entries in the
      -- same order, so the later one waits for the earlier instead of deadlocking with it.
      ORDER BY device_id NULLS LAST
    ) AS t
    ON CONFLICT (device_id) WHERE status IN ('PENDING', 'PROCESSING', 'WAITING_CARRIER') DO NOTHING
  `.execute(db);
  if (Number(result.numAffectedRows ?? 0) === orders.length) return [];
  const pending = orders.filter((o) => o.status === 'PENDING').map((o) => o.identifier);
  const { rows } = await sql<{ identifier: string }>`
    SELECT i.identifier FROM unnest(${pending}::text[]) AS i(identifier)
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
    FROM unnest(${orders.map((o) => o.identifier)}::text[], ${orders.map((o) => o.deviceId)}::bigint[],
                ${orders.map((o) => o.iccid)}::text[], ${orders.map((o) => o.msisdn)}::text[])
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

export interface StatusCounts {
  total: number;
  pending: number;
  processing: number;
  waiting: number;
  processed: number;
  error: number;
  cancelled: number;
}

const COUNT_KEYS: Record<WorkOrderStatus, keyof StatusCounts> = {
  PENDING: 'pending',
  PROCESSING: 'processing',
  WAITING_CARRIER: 'waiting',
  PROCESSED: 'processed',
  ERROR: 'error',
  CANCELLED: 'cancelled',
};

/** Counts of several bulk changes at once (lists), one GROUP BY over the status index. */
export async function countWorkOrders(
  db: Executor,
  bulkChangeIds: number[],
): Promise<Map<number, StatusCounts>> {
  const result = new Map<number, StatusCounts>();
  if (bulkChangeIds.length === 0) return result;
  const rows = await db
    .selectFrom('bulk_change_device')
    .select(['bulk_change_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('bulk_change_id', 'in', bulkChangeIds)
    .groupBy(['bulk_change_id', 'status'])
    .execute();
  for (const id of bulkChangeIds) result.set(id, emptyCounts());
  for (const row of rows) {
    const counts = result.get(row.bulk_change_id)!;
    counts[COUNT_KEYS[row.status]] += Number(row.n);
    counts.total += Number(row.n);
  }
  return result;
}

/**
 * Of these bulk changes, those with a failed work order that changed its device all the same (a step
 * done, or a Rev.io service created before a later step failed): the undo rule asks it of a change
 * whose devices all failed. The same condition as the undo's candidates (undo.repository.ts).
 */
export async function withFailedButChanged(db: Executor, bulkChangeIds: number[]): Promise<Set<number>> {
  if (bulkChangeIds.length === 0) return new Set();
  const { rows } = await sql<{ bulk_change_id: number }>`
    SELECT DISTINCT w.bulk_change_id FROM bulk_change_device w
    WHERE w.bulk_change_id = ANY(${bulkChangeIds}::bigint[]) AND w.status = 'ERROR' AND w.device_id IS NOT NULL
      AND (cardinality(w.steps_done) > 0
           OR EXISTS (SELECT 1 FROM rev_service rs WHERE rs.bulk_change_device_id = w.id AND rs.status = 'created'))`.execute(
    db,
  );
  return new Set(rows.map((r) => Number(r.bulk_change_id)));
}

/**
 * Failed work orders that "retry failed" would re-open: retryable, and the device not taken by
 * another open bulk change meanwhile (the same condition as the re-open itself).
 */
export async function countRetryable(db: Executor, bulkChangeIds: number[]): Promise<Map<number, number>> {
  const result = new Map<number, number>(bulkChangeIds.map((id) => [id, 0]));
  if (bulkChangeIds.length === 0) return result;
  const { rows } = await sql<{ bulk_change_id: number; n: number }>`
    SELECT w.bulk_change_id, count(*)::int AS n FROM bulk_change_device w
    WHERE w.bulk_change_id = ANY(${bulkChangeIds}::bigint[]) AND w.status = 'ERROR' AND w.retryable
      AND NOT EXISTS (SELECT 1 FROM bulk_change_device o WHERE o.device_id = w.device_id
                      AND o.status IN ('PENDING', 'PROCESSING', 'WAITING_CARRIER'))
    GROUP BY w.bulk_change_id
  `.execute(db);
  for (const row of rows) result.set(row.bulk_change_id, row.n);
  return result;
}

export function emptyCounts(): StatusCounts {
  return { total: 0, pending: 0, processing: 0, waiting: 0, processed: 0, error: 0, cancelled: 0 };
}

export const BULK_CHANGE_COLUMNS = [
  'b.id',
  'b.change_type',
  'b.status',
  'b.service_provider_id',
  'b.customer_id',
  'b.site_id',
  'b.options',
  'b.created_by',
  'b.created_at',
  'b.started_at',
  'b.completed_at',
  'b.cancel_requested_at',
  'b.source',
  'b.stats',
] as const;

export async function findBulkChange(db: Executor, tenantId: number, id: number) {
  return db
    .selectFrom('bulk_change as b')
    .innerJoin('app_user as u', 'u.id', 'b.created_by')
    .select([...BULK_CHANGE_COLUMNS, 'u.name as created_by_name', 'u.email as created_by_email'])
    .where('b.tenant_id', '=', tenantId)
    .where('b.id', '=', id)
    .executeTakeFirst();
}

export type BulkChangeRow = NonNullable<Awaited<ReturnType<typeof findBulkChange>>>;

/** Newest first; `beforeId` is the keyset cursor. */
export async function listBulkChanges(
  db: Executor,
  params: {
    tenantId: number;
    status?: BulkChangeStatus;
    changeType?: 'customer_assignment' | 'undo';
    beforeId?: number;
    customerIds?: number[];
    serviceProviderId?: number;
    createdBy?: number;
    source?: string;
    createdFrom?: Date;
    createdBefore?: Date;
    limit: number;
  },
): Promise<BulkChangeRow[]> {
  let query = db
    .selectFrom('bulk_change as b')
    .innerJoin('app_user as u', 'u.id', 'b.created_by')
    .select([...BULK_CHANGE_COLUMNS, 'u.name as created_by_name', 'u.email as created_by_email'])
    .where('b.tenant_id', '=', params.tenantId);
  if (params.status) query = query.where('b.status', '=', params.status);
  if (params.changeType) query = query.where('b.change_type', '=', params.changeType);
  if (params.serviceProviderId !== undefined)
    query = query.where('b.service_provider_id', '=', params.serviceProviderId);
  if (params.createdBy !== undefined) query = query.where('b.created_by', '=', params.createdBy);
  if (params.source !== undefined) query = query.where('b.source', '=', params.source);
  if (params.createdFrom) query = query.where('b.created_at', '>=', params.createdFrom);
  if (params.createdBefore) query = query.where('b.created_at', '<', params.createdBefore);
  if (params.beforeId !== undefined) query = query.where('b.id', '<', params.beforeId);
  if (params.customerIds !== undefined) {
    if (params.customerIds.length === 0) return [];
    query = query.where('b.customer_id', 'in', params.customerIds);
  }
  return query.orderBy('b.id', 'desc').limit(params.limit).execute();
}

export const WORK_ORDER_COLUMNS = [
  'w.id',
  'w.device_id',
  'w.identifier',
  'w.iccid',
  'w.msisdn',
  'w.status',
  'w.error_category',
  'w.message',
  'w.rev_service_id',
  'w.processed_at',
  'w.steps_done',
] as const;

/**
 * A page of work orders in id order; `afterId` is the keyset cursor. Each page is a range of
 * `bulk_change_device_list_idx` (bulk_change_id, id), or with a status of
 * `bulk_change_device_status_page_idx` (bulk_change_id, status, id). The bulk change's id is given
 * through a sub-select: with the constant, the planner walks the primary key instead, betting that a
 * change's work orders are spread over the table, and passes every older change's (a 100,000-device
 * change behind 200,000 older work orders: 340 ms for its first page instead of 0.5 ms).
 */
export async function listWorkOrders(
  db: Executor,
  params: { bulkChangeId: number; status?: WorkOrderStatus; afterId?: number; limit: number },
) {
  let query = db
    .selectFrom('bulk_change_device as w')
    .select([...WORK_ORDER_COLUMNS])
    .where('w.bulk_change_id', '=', sql<number>`(SELECT ${params.bulkChangeId}::bigint)`);
  if (params.status) query = query.where('w.status', '=', params.status);
  if (params.afterId !== undefined) query = query.where('w.id', '>', params.afterId);
  return query.orderBy('w.id').limit(params.limit).execute();
}

export type WorkOrderRow = Awaited<ReturnType<typeof listWorkOrders>>[number];

/**
 * A page of a bulk change's log, oldest first, optionally of one device (by id, or by ICCID: the
 * device's, or what was submitted when no device matched) and of one step (change-log-steps.ts).
 */
export async function listChangeLogs(
  db: Executor,
  params: {
    bulkChangeId: number;
    deviceId?: number;
    iccid?: string;
    step?: ChangeLogStep;
    afterId?: number;
    limit: number;
  },
) {
  let query = db
    .selectFrom('change_log as l')
    // The device as the operator knows it: its ICCID, or what was submitted when nothing matched.
    .leftJoin('device as d', 'd.id', 'l.device_id')
    .leftJoin('bulk_change_device as w', 'w.id', 'l.bulk_change_device_id')
    .select([
      'd.iccid',
      'w.identifier',
      'l.id',
      'l.bulk_change_device_id',
      'l.device_id',
      'l.description',
      'l.portal_type',
      'l.request_text',
      'l.response_status',
      'l.response_text',
      'l.has_error',
      'l.error_text',
      'l.processed_by',
      'l.submitted_by',
      'l.system',
      'l.processed_at',
      stepOf('l').as('step'),
    ])
    .where('l.bulk_change_id', '=', params.bulkChangeId);
  if (params.deviceId !== undefined) query = query.where('l.device_id', '=', params.deviceId);
  const { iccid, step } = params;
  if (iccid !== undefined) {
    // The ICCID's device is looked up first (every device of a bulk change is of its service
    // provider: one entry of that unique key), so both arms read change_log_device_idx (0023). As
    // `d.iccid = …` the filter read the change's whole log: 100,000 devices' 400,000 entries, 310–940
    // ms; now under 1 ms, a rejected identifier's too (the change's device-less entries).
    const device = sql<number>`ANY(ARRAY(
      SELECT dv.id FROM device dv JOIN bulk_change b ON b.service_provider_id = dv.service_provider_id
      WHERE b.id = ${params.bulkChangeId} AND dv.iccid = ${iccid}))`;
    query = query.where((eb) =>
      eb.or([
        eb('l.device_id', '=', device),
        eb.and([eb('l.device_id', 'is', null), eb('w.identifier', '=', iccid)]),
      ]),
    );
  }
  if (step !== undefined) query = query.where(sql<string>`${stepOf('l')}`, '=', step);
  if (params.afterId !== undefined) query = query.where('l.id', '>', params.afterId);
  return query.orderBy('l.id').limit(params.limit).execute();
}
