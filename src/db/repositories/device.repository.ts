import { expressionBuilder, type Expression, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { Executor } from '../database.ts';
import type { DB, DeviceStatus } from '../schema.ts';

/**
 * Device reads. The filter below is THE definition of "all devices matching this filter": the device
 * list and the bulk-change submission (`devices` given as a filter) both build their WHERE clause
 * with `deviceFilterCondition`, so a screen's "select all N matching" and the devices a bulk change
 * then works on can never differ.
 */

/**
 * Which of a tenant's devices to take. Every field narrows (AND); an absent field does not filter.
 * Archived devices are NOT excluded here: lists show them flagged, validation rejects them.
 */
export interface DeviceFilter {
  /** Devices of this service provider. The caller checks that it is the tenant's. */
  serviceProviderId?: number;
  /**
   * Identifier prefix: digits only, at least 3 (the caller validates). Matches the ICCID, the MSISDN
   * or the IMEI starting with it, through the `text_pattern_ops` indexes.
   */
  q?: string;
  /** Carrier status. */
  status?: DeviceStatus;
  /**
   * Devices owned by this customer: an active, non-deleted `device_tenant` row with this
   * `customer_id`. The caller checks that the principal may access the customer.
   */
  customerId?: number;
  /** true: devices with no owner (see `customerId`); false: devices with one; absent: both. */
  unassigned?: boolean;
}

/** An ICCID has at most 20 digits, an MSISDN 15, an IMEI 16: longer prefixes cannot match them. */
const MAX_LENGTH = { iccid: 20, msisdn: 15, imei: 16 } as const;

/**
 * The WHERE condition of `filter` for `tenantId`, for any query that reads the table `device` under
 * its own name (not aliased); joins are fine. Always includes `device.tenant_id = tenantId`.
 *
 * Ownership is tested with (NOT) EXISTS on `device_tenant`, which Postgres runs as a semi/anti join
 * on `device_tenant (device_id, tenant_id)` or `device_tenant_customer_idx`.
 */
export function deviceFilterCondition(tenantId: number, filter: DeviceFilter): Expression<SqlBool> {
  const eb = expressionBuilder<DB, 'device'>();
  const conditions: Expression<SqlBool>[] = [eb('device.tenant_id', '=', tenantId)];

  if (filter.serviceProviderId !== undefined) {
    conditions.push(eb('device.service_provider_id', '=', filter.serviceProviderId));
  }
  if (filter.status !== undefined) conditions.push(eb('device.status', '=', filter.status));
  if (filter.q !== undefined) {
    // q is digits only, so it carries no LIKE wildcard; a constant pattern lets the planner use
    // the (tenant_id, iccid|msisdn text_pattern_ops) indexes as a range scan.
    const pattern = `${filter.q}%`;
    const length = filter.q.length;
    const byIdentifier: Expression<SqlBool>[] = [];
    if (length <= MAX_LENGTH.iccid) byIdentifier.push(eb('device.iccid', 'like', pattern));
    if (length <= MAX_LENGTH.msisdn) byIdentifier.push(eb('device.msisdn', 'like', pattern));
    if (length <= MAX_LENGTH.imei) byIdentifier.push(eb('device.imei', 'like', pattern));
    conditions.push(eb.or(byIdentifier));
  }
  if (filter.customerId !== undefined) {
    conditions.push(eb.exists(ownerRow(tenantId).where('dt.customer_id', '=', filter.customerId)));
  }
  if (filter.unassigned !== undefined) {
    const owned = eb.exists(ownerRow(tenantId).where('dt.customer_id', 'is not', null));
    conditions.push(filter.unassigned ? eb.not(owned) : owned);
  }
  return eb.and(conditions);
}

/** The device's current ownership row: active and not deleted. */
function ownerRow(tenantId: number) {
  return expressionBuilder<DB, 'device'>()
    .selectFrom('device_tenant as dt')
    .select('dt.id')
    .whereRef('dt.device_id', '=', 'device.id')
    .where('dt.tenant_id', '=', tenantId)
    .where('dt.is_active', '=', true)
    .where('dt.is_deleted', '=', false);
}

/**
 * Ids of every device matching `filter`, ordered by id: use it as a subquery
 * (`where('device.id', 'in', selectMatchingDeviceIds(...))`) or as the SELECT of an INSERT … SELECT.
 */
export function selectMatchingDeviceIds(
  db: Executor,
  tenantId: number,
  filter: DeviceFilter,
): SelectQueryBuilder<DB, 'device', { id: number }> {
  return db
    .selectFrom('device')
    .select('device.id')
    .where(deviceFilterCondition(tenantId, filter))
    .orderBy('device.id');
}

export interface DeviceListRow {
  id: number;
  iccid: string;
  msisdn: string | null;
  imei: string | null;
  status: DeviceStatus;
  customerId: number | null;
  siteId: number | null;
  carrierRatePlan: string | null;
  communicationPlan: string | null;
  /** A carrier plan sent with a later effective date, in force from that day. */
  scheduledCarrierPlan: { ratePlan: string; communicationPlan: string | null; effectiveDate: string } | null;
  activatedAt: string | null;
  archived: boolean;
}

/** Keyset window: up to `limit` rows after `afterId` in the list's order. */
export interface Window {
  limit: number;
  afterId?: number | undefined;
}

export interface DeviceHistoryRow {
  id: number;
  changeType: string;
  before: unknown;
  after: unknown;
  changedBy: { id: number; name: string } | null;
  changedAt: Date;
  bulkChangeId: number | null;
}

/** One query: a device's history, newest first (`device_history_device_idx`). */
export async function listDeviceHistory(
  db: Executor,
  tenantId: number,
  deviceId: number,
  window: Window,
): Promise<DeviceHistoryRow[]> {
  let query = db
    .selectFrom('device_history as h')
    .leftJoin('app_user as u', (join) =>
      join.onRef('u.id', '=', 'h.changed_by').on('u.tenant_id', '=', tenantId),
    )
    .select([
      'h.id',
      'h.change_type as changeType',
      'h.before',
      'h.after',
      'h.changed_by as changedById',
      'u.name as changedByName',
      'h.changed_at as changedAt',
      'h.bulk_change_id as bulkChangeId',
    ])
    .where('h.device_id', '=', deviceId)
    .where('h.tenant_id', '=', tenantId);
  if (window.afterId !== undefined) query = query.where('h.id', '<', window.afterId);
  const rows = await query.orderBy('h.id', 'desc').limit(window.limit).execute();
  return rows.map(({ changedById, changedByName, ...row }) => ({
    ...row,
    changedBy:
      changedById !== null && changedByName !== null ? { id: changedById, name: changedByName } : null,
  }));
}
