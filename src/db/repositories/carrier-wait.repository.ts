import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { WorkItem } from './processing.repository.ts';

/**
 * Work orders waiting for a carrier's asynchronous confirmation (ThingSpace plan changes): the
 * wait and its deadline, the inbox of results, and the claims that apply a result exactly once.
 */

/** The wait for a carrier's confirmation, with its deadline (`CARRIER_CONFIRM_MINUTES`). */
export async function markWaitingForCarrier(
  db: Executor,
  waits: { id: number; requestId: string }[],
  deadlineMinutes: number,
): Promise<void> {
  if (waits.length === 0) return;
  await sql`
    UPDATE bulk_change_device w
    SET status = 'WAITING_CARRIER', carrier_request_id = x.request_id,
        carrier_deadline = now() + make_interval(mins => ${deadlineMinutes}), updated_at = now()
    FROM unnest(${waits.map((x) => x.id)}::bigint[], ${waits.map((x) => x.requestId)}::text[]) AS x(id, request_id)
    WHERE w.id = x.id AND w.status = 'PROCESSING'
  `.execute(db);
}

export interface WaitingWorkOrder {
  bulkChangeId: number;
  requestId: string;
  item: WorkItem;
}

const WAITING_COLUMNS = sql`
  w.bulk_change_id AS "bulkChangeId", w.carrier_request_id AS "requestId",
  json_build_object('id', w.id, 'deviceId', w.device_id, 'iccid', w.iccid, 'msisdn', w.msisdn, 'request', w.request,
                    'stepsDone', w.steps_done, 'attempts', w.attempts) AS item`;

/**
 * Claims the work orders waiting for these requests (back to PROCESSING, inside the caller's
 * transaction): a callback and a poll answering the same request at once cannot both apply it —
 * the second waits for the first's row locks and then finds nothing waiting.
 */
export async function claimWaitingByRequestIds(
  db: Executor,
  requestIds: string[],
): Promise<WaitingWorkOrder[]> {
  const { rows } = await sql<WaitingWorkOrder>`
    UPDATE bulk_change_device w SET status = 'PROCESSING', updated_at = now()
    WHERE w.carrier_request_id = ANY(${requestIds}::text[]) AND w.status = 'WAITING_CARRIER'
    RETURNING ${WAITING_COLUMNS}
  `.execute(db);
  return rows;
}

export async function findWaitingInBulkChange(
  db: Executor,
  bulkChangeId: number,
): Promise<WaitingWorkOrder[]> {
  const { rows } = await sql<WaitingWorkOrder>`
    SELECT ${WAITING_COLUMNS} FROM bulk_change_device w
    WHERE w.bulk_change_id = ${bulkChangeId} AND w.status = 'WAITING_CARRIER'
  `.execute(db);
  return rows;
}

export interface StoredCarrierResult {
  requestId: string;
  status: 'Success' | 'Failed';
  faultString?: string;
}

/** Keeps carrier results, whether or not a work order is known to wait for them yet. */
export async function storeCarrierResults(db: Executor, results: StoredCarrierResult[]): Promise<void> {
  if (results.length === 0) return;
  await sql`
    INSERT INTO carrier_result (request_id, status, fault_string)
    SELECT * FROM unnest(${results.map((r) => r.requestId)}::text[], ${results.map((r) => r.status)}::text[],
                         ${results.map((r) => r.faultString ?? null)}::text[])
    ON CONFLICT (request_id) DO NOTHING
  `.execute(db);
}

export async function findCarrierResults(db: Executor, requestIds: string[]): Promise<StoredCarrierResult[]> {
  if (requestIds.length === 0) return [];
  const { rows } = await sql<StoredCarrierResult>`
    SELECT request_id AS "requestId", status, fault_string AS "faultString"
    FROM carrier_result WHERE request_id = ANY(${requestIds}::text[])
  `.execute(db);
  return rows.map((r) => ({ ...r, faultString: r.faultString ?? undefined }));
}

export interface EndedWait {
  id: number;
  deviceId: number;
  requestId: string;
}

/**
 * Ends waits with ERROR / integration: those past their deadline, or (`all`) every wait of the bulk
 * change when it is cancelled. `{request}` in the message becomes the carrier's request id. A result
 * arriving later stays in the inbox; it no longer changes the work order.
 */
export async function endCarrierWaits(
  db: Executor,
  bulkChangeId: number,
  which: 'overdue' | 'all',
  message: string,
): Promise<EndedWait[]> {
  const { rows } = await sql<EndedWait>`
    UPDATE bulk_change_device
    SET status = 'ERROR', error_category = 'integration', retryable = false,
        message = replace(${message}, '{request}', coalesce(carrier_request_id, '?')),
        processed_at = now(), updated_at = now()
    WHERE bulk_change_id = ${bulkChangeId} AND status = 'WAITING_CARRIER'
      AND (${which === 'all'} OR carrier_deadline <= now())
    RETURNING id, device_id AS "deviceId", carrier_request_id AS "requestId"
  `.execute(db);
  return rows;
}

/** The earliest deadline among the bulk change's waits, so the next poll need not come later. */
export async function nextCarrierDeadline(db: Executor, bulkChangeId: number): Promise<Date | undefined> {
  const { rows } = await sql<{ deadline: Date | null }>`
    SELECT min(carrier_deadline) AS deadline FROM bulk_change_device
    WHERE bulk_change_id = ${bulkChangeId} AND status = 'WAITING_CARRIER'
  `.execute(db);
  return rows[0]?.deadline ?? undefined;
}
