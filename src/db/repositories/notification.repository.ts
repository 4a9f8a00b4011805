import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/**
 * Notification deliveries (one per bulk change × channel × recipient × event) and their attempts.
 * Plain queries; which endpoints, when to retry and what counts as failed are the service's rules.
 */

export interface CompletionDeliveriesInput {
  tenantId: number;
  bulkChangeId: number;
  event: string;
  /** The message without its `deliveryId`, which each row adds from its own id. */
  payload: Record<string, unknown>;
  /** The submitter's address, or `null` for no e-mail row. */
  emailRecipient: string | null;
}

export interface CreatedDelivery {
  id: number;
  channel: 'webhook' | 'email';
}

/**
 * Writes one row per active endpoint of the tenant subscribed to the event, plus the e-mail row, in
 * ONE statement. The ids are drawn from the identity's sequence first (OVERRIDING SYSTEM VALUE) so
 * that each stored payload already carries its own `deliveryId`: the payload is then final at
 * insert, and every attempt sends the same bytes. ON CONFLICT on (bulk_change_id, channel,
 * recipient, event) makes a second call for the same bulk change write nothing; RETURNING yields
 * only the rows written, so the caller enqueues nothing twice either.
 */
export async function insertCompletionDeliveries(
  db: Executor,
  input: CompletionDeliveriesInput,
): Promise<CreatedDelivery[]> {
  const { rows } = await sql<CreatedDelivery>`
    WITH target AS (
      SELECT 'webhook'::text AS channel, e.id AS webhook_endpoint_id, e.url AS recipient
      FROM webhook_endpoint e
      WHERE e.tenant_id = ${input.tenantId} AND e.active AND ${input.event}::text = ANY (e.events)
      UNION ALL
      SELECT 'email', NULL::bigint, ${input.emailRecipient}::text
      WHERE ${input.emailRecipient}::text IS NOT NULL
    ), numbered AS (
      SELECT nextval(pg_get_serial_sequence('notification_delivery', 'id')) AS id, t.*
      FROM target t
    )
    INSERT INTO notification_delivery (id, tenant_id, bulk_change_id, channel, webhook_endpoint_id, recipient,
                                       event, payload)
    OVERRIDING SYSTEM VALUE
    SELECT n.id, ${input.tenantId}, ${input.bulkChangeId}, n.channel, n.webhook_endpoint_id, n.recipient,
           ${input.event}, ${JSON.stringify(input.payload)}::jsonb || jsonb_build_object('deliveryId', n.id)
    FROM numbered n
    ORDER BY n.id
    ON CONFLICT (bulk_change_id, channel, recipient, event) DO NOTHING
    RETURNING id, channel
  `.execute(db);
  return rows;
}

export interface LockedDelivery {
  id: number;
  tenantId: number;
  channel: 'webhook' | 'email';
  recipient: string;
  event: string;
  payload: unknown;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** The endpoint; its signing secret plain (an older row) or sealed, opened by the service. */
  endpoint: { id: number; url: string; secret: string | null; sealedSecret: unknown; active: boolean } | null;
}

/**
 * The delivery with its endpoint, row-locked until the caller's transaction ends. A second worker
 * running the same job (pg-boss is at-least-once) waits here, then sees the first one's outcome.
 */
export async function lockDelivery(db: Executor, deliveryId: number): Promise<LockedDelivery | undefined> {
  const row = await db
    .selectFrom('notification_delivery as d')
    .leftJoin('webhook_endpoint as e', 'e.id', 'd.webhook_endpoint_id')
    .select([
      'd.id',
      'd.tenant_id',
      'd.channel',
      'd.recipient',
      'd.event',
      'd.payload',
      'd.status',
      'd.attempts',
      'e.id as endpoint_id',
      'e.url',
      'e.secret',
      'e.sealed_secret',
      'e.active',
    ])
    .where('d.id', '=', deliveryId)
    .forUpdate('d')
    .executeTakeFirst();
  if (!row) return undefined;
  const { tenant_id, endpoint_id, url, secret, sealed_secret, active, ...delivery } = row;
  return {
    ...delivery,
    tenantId: tenant_id,
    endpoint:
      endpoint_id !== null && url !== null && active !== null
        ? { id: endpoint_id, url, secret, sealedSecret: sealed_secret, active }
        : null,
  };
}

export interface AttemptRecord {
  deliveryId: number;
  attempt: number;
  /** The delivery's status after this attempt. */
  status: 'pending' | 'delivered' | 'failed';
  statusCode: number | null;
  error: string | null;
  durationMs: number | null;
  /** The beginning of the receiver's answer, if any. */
  response: string | null;
}

/** Records one attempt and brings the delivery up to date with it. */
export async function recordAttempt(db: Executor, record: AttemptRecord): Promise<void> {
  await db
    .insertInto('notification_attempt')
    .values({
      notification_delivery_id: record.deliveryId,
      attempt: record.attempt,
      status_code: record.statusCode,
      error: record.error,
      duration_ms: record.durationMs,
      response: record.response,
    })
    .execute();
  await db
    .updateTable('notification_delivery')
    .set({
      status: record.status,
      attempts: record.attempt,
      last_status_code: record.statusCode,
      last_error: record.error,
      last_response: record.response,
      delivered_at: record.status === 'delivered' ? sql<Date>`now()` : null,
    })
    .where('id', '=', record.deliveryId)
    .execute();
}

/** Gives up on a delivery that cannot be attempted at all (its endpoint was switched off). */
export async function failWithoutAttempt(db: Executor, deliveryId: number, error: string): Promise<void> {
  await db
    .updateTable('notification_delivery')
    .set({ status: 'failed', last_error: error })
    .where('id', '=', deliveryId)
    .execute();
}
