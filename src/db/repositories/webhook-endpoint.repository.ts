import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/**
 * A tenant's webhook endpoints and their delivery log. Every query is scoped by tenant; the signing
 * secret is written here (sealed) but never read: `lockDelivery` in the notification repository is
 * the one read, for signing.
 */

export interface EndpointRow {
  id: number;
  url: string;
  description: string;
  events: string[];
  active: boolean;
  secretSetAt: Date;
  secretSetBy: { id: number; name: string } | null;
  createdAt: Date;
  updatedAt: Date;
}

function selectEndpoints(db: Executor, tenantId: number) {
  return db
    .selectFrom('webhook_endpoint as e')
    .leftJoin('app_user as u', 'u.id', 'e.secret_set_by')
    .select([
      'e.id',
      'e.url',
      'e.description',
      'e.events',
      'e.active',
      'e.secret_set_at',
      'e.created_at',
      'e.updated_at',
      'u.id as set_by_id',
      'u.name as set_by_name',
    ])
    .where('e.tenant_id', '=', tenantId);
}

type SelectedEndpoint = Awaited<ReturnType<ReturnType<typeof selectEndpoints>['executeTakeFirstOrThrow']>>;

function rowOf(r: SelectedEndpoint): EndpointRow {
  return {
    id: r.id,
    url: r.url,
    description: r.description,
    events: r.events,
    active: r.active,
    secretSetAt: r.secret_set_at,
    secretSetBy: r.set_by_id !== null ? { id: r.set_by_id, name: r.set_by_name ?? '' } : null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export async function listEndpoints(
  db: Executor,
  tenantId: number,
  page: { limit: number; afterId?: number },
): Promise<EndpointRow[]> {
  let query = selectEndpoints(db, tenantId).orderBy('e.id').limit(page.limit);
  if (page.afterId !== undefined) query = query.where('e.id', '>', page.afterId);
  return (await query.execute()).map(rowOf);
}

export async function findEndpoint(
  db: Executor,
  tenantId: number,
  id: number,
): Promise<EndpointRow | undefined> {
  const row = await selectEndpoints(db, tenantId).where('e.id', '=', id).executeTakeFirst();
  return row && rowOf(row);
}

/** The id the next endpoint gets, drawn first so that its sealed secret can be bound to it. */
export async function nextEndpointId(db: Executor): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    SELECT nextval(pg_get_serial_sequence('webhook_endpoint', 'id')) AS id
  `.execute(db);
  return Number(rows[0]!.id);
}

export interface NewEndpoint {
  id: number;
  tenantId: number;
  url: string;
  description: string;
  events: string[];
  active: boolean;
  sealedSecret: unknown;
  setBy: number;
}

export async function insertEndpoint(db: Executor, e: NewEndpoint): Promise<void> {
  await sql`
    INSERT INTO webhook_endpoint (id, tenant_id, url, description, events, active, sealed_secret, secret_set_by)
    OVERRIDING SYSTEM VALUE
    VALUES (${e.id}, ${e.tenantId}, ${e.url}, ${e.description}, ${e.events}::text[], ${e.active},
            ${JSON.stringify(e.sealedSecret)}::jsonb, ${e.setBy})
  `.execute(db);
}

export interface EndpointChange {
  url?: string;
  description?: string;
  events?: string[];
  active?: boolean;
}

/** Applies the change to the tenant's endpoint; false when it has no such endpoint. */
export async function updateEndpoint(
  db: Executor,
  tenantId: number,
  id: number,
  change: EndpointChange,
): Promise<boolean> {
  const result = await db
    .updateTable('webhook_endpoint')
    .set({ ...change, updated_at: sql<Date>`now()` })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** A new sealed secret; the plain one of an older row, if any, is gone. */
export async function replaceSecret(
  db: Executor,
  tenantId: number,
  id: number,
  sealedSecret: unknown,
  setBy: number,
): Promise<boolean> {
  const result = await db
    .updateTable('webhook_endpoint')
    .set({
      sealed_secret: JSON.stringify(sealedSecret),
      secret: null,
      secret_set_at: sql<Date>`now()`,
      secret_set_by: setBy,
      updated_at: sql<Date>`now()`,
    })
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Deletes the endpoint; its deliveries stay in the log (their endpoint id becomes null). */
export async function deleteEndpoint(db: Executor, tenantId: number, id: number): Promise<boolean> {
  const result = await db
    .deleteFrom('webhook_endpoint')
    .where('tenant_id', '=', tenantId)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** A `webhook.test` delivery to the endpoint, its payload carrying its own id (as completions do). */
export async function insertTestDelivery(
  db: Executor,
  input: {
    tenantId: number;
    endpointId: number;
    url: string;
    event: string;
    payload: Record<string, unknown>;
  },
): Promise<number> {
  const { rows } = await sql<{ id: string }>`
    WITH n AS (SELECT nextval(pg_get_serial_sequence('notification_delivery', 'id')) AS id)
    INSERT INTO notification_delivery (id, tenant_id, bulk_change_id, channel, webhook_endpoint_id, recipient,
                                       event, payload)
    OVERRIDING SYSTEM VALUE
    SELECT n.id, ${input.tenantId}, NULL, 'webhook', ${input.endpointId}, ${input.url}, ${input.event},
           ${JSON.stringify(input.payload)}::jsonb || jsonb_build_object('deliveryId', n.id)
    FROM n
    RETURNING id
  `.execute(db);
  return Number(rows[0]!.id);
}

export interface DeliveryRow {
  id: number;
  event: string;
  bulkChangeId: number | null;
  recipient: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastResponse: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/** The endpoint's deliveries, newest first, keyset-paged by id. */
export async function listDeliveries(
  db: Executor,
  tenantId: number,
  endpointId: number,
  page: { limit: number; beforeId?: number },
): Promise<DeliveryRow[]> {
  let query = db
    .selectFrom('notification_delivery')
    .select([
      'id',
      'event',
      'bulk_change_id',
      'recipient',
      'status',
      'attempts',
      'last_status_code',
      'last_error',
      'last_response',
      'created_at',
      'delivered_at',
    ])
    .where('tenant_id', '=', tenantId)
    .where('webhook_endpoint_id', '=', endpointId)
    .orderBy('id', 'desc')
    .limit(page.limit);
  if (page.beforeId !== undefined) query = query.where('id', '<', page.beforeId);
  return (await query.execute()).map((r) => ({
    id: r.id,
    event: r.event,
    bulkChangeId: r.bulk_change_id,
    recipient: r.recipient,
    status: r.status,
    attempts: r.attempts,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    lastResponse: r.last_response,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
  }));
}
