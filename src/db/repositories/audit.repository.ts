import type { Executor } from '../database.ts';

/** Refused requests, kept for administrators (`audit_event`). */

export interface NewAuditEvent {
  tenantId: number;
  userId: number;
  userEmail: string;
  action: string;
  customerId: number | null;
  deviceCount: number | null;
  reason: string;
  details: Record<string, unknown>;
}

export async function insertAuditEvent(db: Executor, event: NewAuditEvent): Promise<void> {
  await db
    .insertInto('audit_event')
    .values({
      tenant_id: event.tenantId,
      user_id: event.userId,
      user_email: event.userEmail,
      action: event.action,
      outcome: 'refused',
      customer_id: event.customerId,
      device_count: event.deviceCount,
      reason: event.reason,
      details: JSON.stringify(event.details),
    })
    .execute();
}

/** Newest first; `beforeId` is the keyset cursor. */
export async function listAuditEvents(
  db: Executor,
  params: { tenantId: number; beforeId: number | undefined; limit: number },
) {
  let query = db
    .selectFrom('audit_event')
    .select([
      'id',
      'at',
      'user_id',
      'user_email',
      'action',
      'outcome',
      'customer_id',
      'device_count',
      'reason',
      'details',
    ])
    .where('tenant_id', '=', params.tenantId);
  if (params.beforeId !== undefined) query = query.where('id', '<', params.beforeId);
  return query.orderBy('id', 'desc').limit(params.limit).execute();
}
