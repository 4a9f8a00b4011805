import { sql } from 'kysely';
import type { Executor } from '../database.ts';
import type { WorkItem } from './processing.repository.ts';

/**
 * Work orders waiting for a carrier's asynchronous confirmation (ThingSpace plan changes): the
 * wait and its deadline, the inbox of results, and the claims that apply a result exactly once.
 */

/**
 * The wait for a carrier's confirmation, with its deadline (`CARRIER_CONFIRM_MINUTES`) and the
 * account whose credentials sent the request: only that account's callbacks can settle it.
 */
export async function markWaitingForCarrier(
  db: Executor,
  waits: { id: number; requestId: string }[],
  credentialsId: number,
  deadlineMinutes: number,
): Promise<void> {
  if (waits.length === 0) return;
  await sql`
    UPDATE bulk_change_device w
    SET status = 'WAITING_CARRIER', carrier_request_id = x.request_id, carrier_credentials_id = ${credentialsId},
        carrier_deadline = now() + make_interval(mins => ${deadlineMinutes}), updated_at = now()
    FROM unnest(${waits.map((x) => x.id)}::bigint[], ${waits.map((x) => x.requestId)}::text[]) AS x(id, request_id)
    WHERE w.id = x.id AND w.status = 'PROCESSING'
  `.execute(db);
}

export interface WaitingWorkOrder {
  bulkChangeId: number;
  requestId: string;
  /** The account whose credentials sent the request. */
  credentialsId: number;
  item: WorkItem;
}

const WAITING_COLUMNS = sql`
  w.bulk_change_id AS "bulkChangeId", w.carrier_request_id AS "requestId", w.carrier_credentials_id AS "credentialsId",
  json_build_object('id', w.id, 'deviceId', w.device_id, 'iccid', w.iccid, 'msisdn', w.msisdn, 'request', w.request,
                    'stepsDone', w.steps_done, 'attempts', w.attempts) AS item`;

/**
 * Claims the work orders waiting for these requests of this account (back to PROCESSING, inside
 * the caller's transaction): a callback and a poll answering the same request at once cannot both
 * apply it — the second waits for the first's row locks and then finds nothing waiting. Waits on
 * requests sent with other credentials are never touched, whatever the request id.
 */
export async function claimWaitingByRequestIds(
  db: Executor,
  credentialsId: number,
  requestIds: string[],
): Promise<WaitingWorkOrder[]> {
  const { rows } = await sql<WaitingWorkOrder>`
    UPDATE bulk_change_device w SET status = 'PROCESSING', updated_at = now()
    WHERE w.carrier_request_id = ANY(${requestIds}::text[]) AND w.status = 'WAITING_CARRIER'
      AND w.carrier_credentials_id = ${credentialsId}
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
    WHERE w.bulk_change_id = ${bulkChangeId} AND w.status = 'WAITING_CARRIER' AND w.carrier_credentials_id IS NOT NULL
  `.execute(db);
  return rows;
}

export interface StoredCarrierResult {
  requestId: string;
  status: 'Success' | 'Failed';
  faultString?: string;
}

/**
 * The inbox only bridges the moment between a request being sent and its wait being recorded
 * (milliseconds; at most a group of requests per running chunk), and applied results leave it. So
 * a day is far past any use, and 5,000 rows per account far above what a fleet of workers has in
 * that moment: the bound only matters when someone floods an account's callback URL.
 */
export const INBOX_LIMITS = { maxPerAccount: 5_000, maxAgeMinutes: 24 * 60 };

/**
 * Keeps an account's carrier results, whether or not a work order is known to wait for them yet,
 * then drops the account's rows past the limits (oldest first). A later result replaces an earlier
 * one for the same request, except a Failed: the caller stores only confirmed failures, so a
 * Failed is ThingSpace's final word and no later callback overrides it.
 */
export async function storeCarrierResults(
  db: Executor,
  credentialsId: number,
  results: StoredCarrierResult[],
  limits = INBOX_LIMITS,
): Promise<void> {
  // One row per request id: ON CONFLICT cannot update a row twice in one statement.
  const unique = [...new Map(results.map((r) => [r.requestId, r])).values()];
  if (unique.length === 0) return;
  await sql`
    INSERT INTO carrier_result (credentials_id, request_id, status, fault_string)
    SELECT ${credentialsId}, x.* FROM unnest(${unique.map((r) => r.requestId)}::text[],
                         ${unique.map((r) => r.status)}::text[], ${unique.map((r) => r.faultString ?? null)}::text[]) AS x
    ON CONFLICT (credentials_id, request_id) DO UPDATE
    SET status = EXCLUDED.status, fault_string = EXCLUDED.fault_string, received_at = now()
    WHERE carrier_result.status <> 'Failed'
  `.execute(db);
  await sql`
    DELETE FROM carrier_result r
    WHERE r.credentials_id = ${credentialsId}
      AND (r.received_at <= now() - make_interval(mins => ${limits.maxAgeMinutes})
           OR (r.received_at, r.request_id) < (
             SELECT k.received_at, k.request_id FROM carrier_result k WHERE k.credentials_id = ${credentialsId}
             ORDER BY k.received_at DESC, k.request_id DESC OFFSET ${limits.maxPerAccount - 1} LIMIT 1))
  `.execute(db);
}

/** The account's kept results for these requests; rows past the age limit count as gone. */
export async function findCarrierResults(
  db: Executor,
  credentialsId: number,
  requestIds: string[],
  limits = INBOX_LIMITS,
): Promise<StoredCarrierResult[]> {
  if (requestIds.length === 0) return [];
  const { rows } = await sql<StoredCarrierResult>`
    SELECT request_id AS "requestId", status, fault_string AS "faultString"
    FROM carrier_result
    WHERE credentials_id = ${credentialsId} AND request_id = ANY(${requestIds}::text[])
      AND received_at > now() - make_interval(mins => ${limits.maxAgeMinutes})
  `.execute(db);
  return rows.map((r) => ({ ...r, faultString: r.faultString ?? undefined }));
}

/** Applied results leave the inbox (a late duplicate then finds nothing waiting either way). */
export async function forgetCarrierResults(
  db: Executor,
  credentialsId: number,
  requestIds: string[],
): Promise<void> {
  if (requestIds.length === 0) return;
  await sql`
    DELETE FROM carrier_result WHERE credentials_id = ${credentialsId} AND request_id = ANY(${requestIds}::text[])
  `.execute(db);
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
