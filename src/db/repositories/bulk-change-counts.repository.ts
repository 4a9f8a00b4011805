import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { WorkOrderStatus } from '../schema.ts';

/**
 * Figures of bulk changes for lists and pages: work orders by status, the retryable ones, and
 * whether a failed change touched its devices all the same. Each asks for many bulk changes at once.
 */

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
