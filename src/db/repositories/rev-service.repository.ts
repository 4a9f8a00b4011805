import { sql } from 'kysely';
import type { Executor } from '../database.ts';

/**
 * Rev.io service lines as recorded intents. The intent row is committed BEFORE the create call;
 * after a crash or a lost answer the worker finds it without a service id and looks the service up
 * in Rev.io before creating anything: no work order ever gets two service lines.
 */

export interface ServiceIntentInput {
  workOrderId: number;
  deviceId: number;
  number: string;
  number2: string;
  effectiveDate: string | null;
  activatedDate: string;
}

export interface ServiceIntentDefaults {
  tenantId: number;
  customerId: number;
  revCustomerId: number;
  revCredentialsId: number;
  serviceTypeId: number;
  providerId: number | null;
  packageId: number | null;
  usagePlanGroupId: number | null;
  description: string | null;
}

export interface ServiceIntent {
  id: number;
  workOrderId: number;
  serviceId: number | null;
  status: 'pending' | 'created' | 'failed' | 'disconnected';
  /** Inserted by this call: no create can have been sent for it yet, so nothing to look up. */
  fresh: boolean;
}

export async function ensureServiceIntents(
  db: Executor,
  d: ServiceIntentDefaults,
  items: ServiceIntentInput[],
): Promise<ServiceIntent[]> {
  if (items.length === 0) return [];
  const col = <K extends keyof ServiceIntentInput>(key: K) => items.map((i) => i[key]);
  const inserted = await sql<{ workOrderId: number }>`
    INSERT INTO rev_service (tenant_id, device_id, customer_id, rev_credentials_id, rev_customer_id, number, number2,
                             service_type_id, provider_id, package_id, usage_plan_group_id, effective_date,
                             activated_date, description, status, bulk_change_device_id)
    SELECT ${d.tenantId}, i.device_id, ${d.customerId}, ${d.revCredentialsId}, ${d.revCustomerId}, i.number, i.number2,
           ${d.serviceTypeId}, ${d.providerId}, ${d.packageId}, ${d.usagePlanGroupId}, i.effective_date,
           i.activated_date, ${d.description}, 'pending', i.work_order_id
    FROM unnest(${col('workOrderId')}::bigint[], ${col('deviceId')}::bigint[], ${col('number')}::text[],
                ${col('number2')}::text[], ${col('effectiveDate')}::date[], ${col('activatedDate')}::date[])
         AS i(work_order_id, device_id, number, number2, effective_date, activated_date)
    -- Any conflict: the work order's intent exists (a retry), or the device got a live service line
    -- for this customer since validation (no intent: the caller reports it).
    ON CONFLICT DO NOTHING
    RETURNING bulk_change_device_id AS "workOrderId"
  `.execute(db);
  const fresh = new Set(inserted.rows.map((r) => Number(r.workOrderId)));
  const { rows } = await sql<Omit<ServiceIntent, 'fresh'>>`
    SELECT id, bulk_change_device_id AS "workOrderId", service_id AS "serviceId", status
    FROM rev_service WHERE bulk_change_device_id = ANY(${col('workOrderId')}::bigint[])
  `.execute(db);
  return rows.map((row) => ({ ...row, fresh: fresh.has(Number(row.workOrderId)) }));
}

export async function recordServiceResults(
  db: Executor,
  results: { intentId: number; serviceId: number | null }[],
): Promise<void> {
  if (results.length === 0) return;
  await sql`
    WITH r AS (
      SELECT * FROM unnest(${results.map((r) => r.intentId)}::bigint[], ${results.map((r) => r.serviceId)}::bigint[])
             AS r(intent_id, service_id)
    ), updated AS (
      UPDATE rev_service s
      SET service_id = r.service_id,
          status = CASE WHEN r.service_id IS NULL THEN 'failed' ELSE 'created' END,
          is_active = r.service_id IS NOT NULL, updated_at = now()
      -- 'failed': an intent withdrawn by an earlier run, taken up again by a retry.
      FROM r WHERE s.id = r.intent_id AND s.status IN ('pending', 'failed')
      RETURNING s.bulk_change_device_id, s.service_id
    )
    UPDATE bulk_change_device w SET rev_service_id = u.service_id, updated_at = now()
    FROM updated u WHERE w.id = u.bulk_change_device_id AND u.service_id IS NOT NULL
  `.execute(db);
}

export interface ProductIntent {
  id: number;
  revServiceRowId: number;
  productId: number;
  rate: string | null;
  serviceProductId: number | null;
  status: 'pending' | 'created' | 'failed';
  /** Inserted by this call: no create can have been sent for it yet, so nothing to look up. */
  fresh: boolean;
}

export async function ensureProductIntents(
  db: Executor,
  tenantId: number,
  items: { revServiceRowId: number; productId: number; rate: number }[],
): Promise<ProductIntent[]> {
  if (items.length === 0) return [];
  const serviceRows = items.map((i) => i.revServiceRowId);
  const inserted = await sql<{ id: number }>`
    INSERT INTO rev_service_product (tenant_id, rev_service_id, product_id, rate, quantity, status)
    SELECT ${tenantId}, i.rev_service_id, i.product_id, i.rate, 1, 'pending'
    FROM unnest(${serviceRows}::bigint[], ${items.map((i) => i.productId)}::int[], ${items.map((i) => i.rate)}::numeric[])
         AS i(rev_service_id, product_id, rate)
    ON CONFLICT (rev_service_id, product_id) DO NOTHING
    RETURNING id
  `.execute(db);
  const fresh = new Set(inserted.rows.map((r) => Number(r.id)));
  const { rows } = await sql<Omit<ProductIntent, 'fresh'>>`
    SELECT id, rev_service_id AS "revServiceRowId", product_id AS "productId", rate,
           service_product_id AS "serviceProductId", status
    FROM rev_service_product WHERE rev_service_id = ANY(${serviceRows}::bigint[])
  `.execute(db);
  return rows.map((row) => ({ ...row, fresh: fresh.has(Number(row.id)) }));
}

export async function recordProductResults(
  db: Executor,
  results: { intentId: number; serviceProductId: number | null }[],
): Promise<void> {
  if (results.length === 0) return;
  await sql`
    UPDATE rev_service_product p
    SET service_product_id = r.service_product_id,
        status = CASE WHEN r.service_product_id IS NULL THEN 'failed' ELSE 'created' END, updated_at = now()
    FROM unnest(${results.map((r) => r.intentId)}::bigint[], ${results.map((r) => r.serviceProductId)}::bigint[])
         AS r(intent_id, service_product_id)
    WHERE p.id = r.intent_id AND p.status IN ('pending', 'failed')
  `.execute(db);
}

/** Intents of failed work orders are withdrawn: they hold no service line and must not block a retry. */
export async function withdrawServiceIntents(db: Executor, workOrderIds: number[]): Promise<void> {
  if (workOrderIds.length === 0) return;
  await sql`
    UPDATE rev_service SET status = 'failed', is_active = false, updated_at = now()
    WHERE bulk_change_device_id = ANY(${workOrderIds}::bigint[]) AND status = 'pending'
  `.execute(db);
}
