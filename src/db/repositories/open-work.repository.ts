import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/**
 * Exits for work whose worker is gone: a chunk job abandoned by a killed worker (found within
 * seconds through its released advisory lock, instead of after the job's expiry), and a chunk job
 * that ran out of retries (its open work orders end in error, saying why).
 */

/**
 * Chunk jobs that pg-boss still counts as active but that no live worker runs: a running chunk
 * holds `pg_advisory_lock(bulkChangeId, chunk)` on its own connection from its first seconds, and
 * PostgreSQL releases it the instant that connection dies. The grace covers a job just fetched
 * whose lock is not taken yet. Reads pg-boss's job table (pg-boss 10, schema `pgboss`).
 */
export async function findAbandonedChunkJobs(db: Executor, graceSeconds: number): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    SELECT j.id FROM pgboss.job j
    WHERE j.name = 'bulk-change.process-chunk' AND j.state = 'active'
      AND j.started_on < now() - make_interval(secs => ${graceSeconds})
      AND NOT EXISTS (
        SELECT 1 FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.objsubid = 2
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid = (j.data->>'bulkChangeId')::int::oid AND l.objid = (j.data->>'chunk')::int::oid
      )
  `.execute(db);
  return rows.map((r) => r.id);
}

/**
 * The abandoned jobs just failed back to the queue start now, not after pg-boss's retry backoff
 * (2^retries × 1–2 s: a chunk killed for the fourth time would have waited up to 32 s more).
 */
export async function startNow(db: Executor, jobIds: string[]): Promise<void> {
  await sql`
    UPDATE pgboss.job SET start_after = now()
    WHERE name = 'bulk-change.process-chunk' AND id = ANY(${jobIds}::uuid[]) AND state = 'retry'
  `.execute(db);
}

export interface AbandonedWorkOrder {
  id: number;
  deviceId: number;
}

/**
 * Ends a chunk's open work orders as ERROR / internal, retryable (the caller holds the chunk's
 * lock, so no live run owns them). Steps already done stay recorded; a retry resumes after them.
 */
export async function endOpenWorkOrdersOfChunk(
  db: Executor,
  bulkChangeId: number,
  chunk: number,
  message: string,
): Promise<AbandonedWorkOrder[]> {
  const { rows } = await sql<AbandonedWorkOrder>`
    UPDATE bulk_change_device
    SET status = 'ERROR', error_category = 'internal', retryable = true, message = ${message},
        processed_at = now(), updated_at = now()
    WHERE bulk_change_id = ${bulkChangeId} AND chunk = ${chunk} AND status IN ('PENDING', 'PROCESSING')
    RETURNING id, device_id AS "deviceId"
  `.execute(db);
  return rows;
}
