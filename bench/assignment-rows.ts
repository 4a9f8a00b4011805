import type { DatabaseHandle } from '../src/db/database.ts';
import { ms } from './support.ts';

/**
 * The rows a customer assignment on the AMOP path leaves for each device, as simbind writes them —
 * the work order in its final state (request snapshot, steps, attempts, times), the ownership row,
 * one history row (before → after) and one change-log entry — plus the bulk change, written
 * without simbind: set-based in one transaction (the floor), and one transaction per device (the
 * older system's shape). Columns simbind fills, these fill the same way; the devices are free, so
 * the AMOP path's keep-billing rule gives null billing fields, as it does in simbind.
 *
 * What simbind does beyond these rows is its own cost and is not written here: validation, the
 * work order's PENDING version (written at submission, rewritten when done), queue jobs, the chunk
 * locks and the completion notification.
 */

export interface Assignment {
  provider: number;
  customer: number;
  /** The submitter (demo admin): created_by, modified_by, changed_by; `email` is the log's submitted_by. */
  user: { id: number; email: string };
  devices: string[];
}

const DESCRIPTION = 'AMOP Customer Assignment';
const PROCESSED_BY = 'bench';
const CHUNK = 25_000;

async function insertBulkChange(client: Queryable, p: Assignment): Promise<number> {
  const { rows } = await client.query<{ id: number }>(
    `INSERT INTO bulk_change (tenant_id, change_type, service_provider_id, portal_type, customer_id, site_id, options,
                              total_count, created_by, source, status, started_at, completed_at, stats)
     VALUES (1, 'customer_assignment', $1, 'm2m', $2, (SELECT id FROM site WHERE customer_id = $2 AND is_default),
             '{"createRevService":false,"addCarrierRatePlan":false,"addCustomerRatePlan":false}', $3, $4, 'api',
             'PROCESSED', now(), now(), jsonb_build_object('counts', jsonb_build_object('total', $3::int, 'processed', $3::int)))
     RETURNING id`,
    [p.provider, p.customer, p.devices.length, p.user.id],
  );
  return rows[0]!.id;
}

/** Work order columns for device `d` (a device row) of bulk change $1; $2 the customer. */
const WORK_ORDER = `1, $1::bigint, d.id, d.iccid, d.iccid, d.msisdn, 'PROCESSED', '{ownership}'::text[], 1,
  jsonb_build_object('customerId', $2::bigint, 'siteId', (SELECT id FROM site WHERE customer_id = $2 AND is_default),
                     'revCustomerId', NULL::bigint, 'revCredentialsId', NULL::bigint, 'activatedDate', current_date,
                     'deviceId', d.id, 'iccid', d.iccid, 'msisdn', d.msisdn,
                     'effectiveDate', coalesce(d.activated_at, current_date)),
  now(), now()`;
const WORK_ORDER_COLUMNS = `tenant_id, bulk_change_id, device_id, identifier, iccid, msisdn, status, steps_done, attempts,
  request, started_at, processed_at`;
const BEFORE = `CASE WHEN dt.device_id IS NOT NULL THEN jsonb_build_object('customerId', dt.customer_id,
  'siteId', dt.site_id, 'accountNumber', dt.account_number, 'revCredentialsId', dt.rev_credentials_id,
  'revServiceId', dt.rev_service_id, 'isActive', dt.is_active, 'isDeleted', dt.is_deleted) END`;
const AFTER = `jsonb_build_object('customerId', $2::bigint, 'siteId', (SELECT id FROM site WHERE customer_id = $2 AND is_default),
  'accountNumber', NULL::text, 'revCredentialsId', NULL::bigint, 'revServiceId', NULL::bigint,
  'isActive', true, 'isDeleted', false)`;
const OWNERSHIP = `INSERT INTO device_tenant (tenant_id, device_id, customer_id, site_id, account_number, rev_credentials_id,
                                  rev_service_id, is_active, is_deleted, modified_at, modified_by)`;
const UPSERT = `ON CONFLICT (device_id, tenant_id) DO UPDATE
  SET customer_id = EXCLUDED.customer_id, site_id = EXCLUDED.site_id, account_number = NULL, rev_credentials_id = NULL,
      rev_service_id = NULL, is_active = true, is_deleted = false, modified_at = now(), modified_by = EXCLUDED.modified_by`;
const LOG = `INSERT INTO change_log (tenant_id, bulk_change_id, bulk_change_device_id, device_id, description, portal_type,
                                     has_error, processed_by, submitted_by)`;

interface Queryable {
  query<R extends object>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/** Every row in 5 set-based statements and one transaction. */
export async function writeSetBased(handle: DatabaseHandle, p: Assignment): Promise<number> {
  const client = await handle.pool.connect();
  const started = performance.now();
  try {
    await client.query('BEGIN');
    const id = await insertBulkChange(client, p);
    await client.query(
      `INSERT INTO bulk_change_device (${WORK_ORDER_COLUMNS}, chunk)
       SELECT ${WORK_ORDER}, ((row_number() OVER (ORDER BY d.id) - 1) / ${CHUNK})::int
       FROM device d WHERE d.tenant_id = 1 AND d.service_provider_id = $3 AND d.iccid = ANY($4::text[])
       ORDER BY d.id`,
      [id, p.customer, p.provider, p.devices],
    );
    // History before ownership: its "before" is the ownership row as it was.
    await client.query(
      `INSERT INTO device_history (tenant_id, device_id, bulk_change_id, change_type, before, after, changed_by)
       SELECT 1, w.device_id, $1, 'customer_assignment', ${BEFORE}, ${AFTER}, $3
       FROM bulk_change_device w LEFT JOIN device_tenant dt ON dt.device_id = w.device_id AND dt.tenant_id = 1
       WHERE w.bulk_change_id = $1`,
      [id, p.customer, p.user.id],
    );
    await client.query(
      `${OWNERSHIP}
       SELECT 1, w.device_id, $2, (SELECT id FROM site WHERE customer_id = $2 AND is_default), NULL, NULL, NULL,
              true, false, now(), $3
       FROM bulk_change_device w WHERE w.bulk_change_id = $1
       ${UPSERT}`,
      [id, p.customer, p.user.id],
    );
    await client.query(
      `${LOG} SELECT 1, $1, w.id, w.device_id, '${DESCRIPTION}', 'm2m', false, '${PROCESSED_BY}', $2
       FROM bulk_change_device w WHERE w.bulk_change_id = $1`,
      [id, p.user.email],
    );
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  return ms(started);
}

/** The same rows, one transaction per device, a statement per row (the older system's shape). */
export async function writePerDevice(handle: DatabaseHandle, p: Assignment): Promise<number> {
  const client = await handle.pool.connect();
  const started = performance.now();
  try {
    const id = await insertBulkChange(client, p);
    for (const iccid of p.devices) {
      await client.query('BEGIN');
      const { rows } = await client.query<{ id: number; before: unknown }>(
        `SELECT d.id, ${BEFORE} AS before
         FROM device d LEFT JOIN device_tenant dt ON dt.device_id = d.id AND dt.tenant_id = 1
         WHERE d.tenant_id = 1 AND d.service_provider_id = $1 AND d.iccid = $2`,
        [p.provider, iccid],
      );
      const device = rows[0]!;
      const { rows: orders } = await client.query<{ id: number }>(
        `INSERT INTO bulk_change_device (${WORK_ORDER_COLUMNS}, chunk)
         SELECT ${WORK_ORDER}, 0 FROM device d WHERE d.id = $3
         RETURNING id`,
        [id, p.customer, device.id],
      );
      await client.query(
        `INSERT INTO device_history (tenant_id, device_id, bulk_change_id, change_type, before, after, changed_by)
         VALUES (1, $4, $1, 'customer_assignment', $5, ${AFTER}, $3)`,
        [id, p.customer, p.user.id, device.id, device.before],
      );
      await client.query(
        `${OWNERSHIP} VALUES (1, $1, $2, (SELECT id FROM site WHERE customer_id = $2 AND is_default), NULL, NULL, NULL,
                              true, false, now(), $3)
         ${UPSERT}`,
        [device.id, p.customer, p.user.id],
      );
      await client.query(
        `${LOG} VALUES (1, $1, $2, $3, '${DESCRIPTION}', 'm2m', false, '${PROCESSED_BY}', $4)`,
        [id, orders[0]!.id, device.id, p.user.email],
      );
      await client.query('COMMIT');
    }
  } finally {
    client.release();
  }
  return ms(started);
}
