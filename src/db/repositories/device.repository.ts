import {
  expressionBuilder,
  sql,
  type Expression,
  type RawBuilder,
  type SelectQueryBuilder,
  type SqlBool,
} from 'kysely';
import type { Executor } from '../database.ts';
import type { DB, DeviceStatus } from '../schema.ts';

/**
 * Device reads. The filter below is THE definition of "all devices matching this filter": the device
 * list and the bulk-change submission (`devices` given as a filter) both build their WHERE clause
 * with `deviceFilterCondition`, so a screen's "select all N matching" and the devices a bulk change
 * then works on can never differ.
 */

/**
 * Which of a tenant's devices to take. Every field narrows (AND); an absent field does not filter,
 * except `archived`: absent, archived devices are left out (an assignment would refuse them all).
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
  /**
   * Devices at this site: their current ownership row names it. The caller checks that the site's
   * customer is one the principal may access.
   */
  siteId?: number;
  /** The carrier plan code in force on the device (`device.carrier_rate_plan`), exactly. */
  carrierRatePlan?: string;
  /** Archived devices (`device.is_archived`): `exclude` (absent: the same), `include`, or `only` them. */
  archived?: ArchivedFilter;
}

export const ARCHIVED_FILTERS = ['exclude', 'include', 'only'] as const;
export type ArchivedFilter = (typeof ARCHIVED_FILTERS)[number];

/**
 * A keyset page's bound on device ids (the cursor of the list in id order), repeated inside the
 * ownership subqueries. PostgreSQL carries an equality across a join, never an inequality: without
 * it the merge (anti) join with `device_tenant` read the ownership rows from the tenant's first
 * device up to the cursor. Measured on 1,000,000 devices (127,000 owned), a page in the middle:
 * `unassigned=false` 33 ms, as an operator 80 ms; with the bound under 1 ms.
 */
export interface DeviceIdBound {
  op: '>' | '<';
  id: number;
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
export function deviceFilterCondition(
  tenantId: number,
  filter: DeviceFilter,
  bound?: DeviceIdBound,
): Expression<SqlBool> {
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
    conditions.push(eb.exists(ownerRow(tenantId, bound).where('dt.customer_id', '=', filter.customerId)));
  }
  if (filter.unassigned !== undefined) {
    const owned = eb.exists(ownerRow(tenantId, bound).where('dt.customer_id', 'is not', null));
    conditions.push(filter.unassigned ? eb.not(owned) : owned);
  }
  if (filter.siteId !== undefined) {
    const atSite = ownerRow(tenantId, bound).where('dt.site_id', '=', filter.siteId);
    conditions.push(eb.exists(atSite.where('dt.customer_id', 'is not', null)));
  }
  if (filter.carrierRatePlan !== undefined) {
    // In "C", as device_fleet_plan_idx holds it (migration 0020): a range of that index.
    conditions.push(sql<SqlBool>`device.carrier_rate_plan COLLATE "C" = ${filter.carrierRatePlan}`);
  }
  // Archived devices are few (1 % of the demo fleet): a list page walking a 0020 index tests this on
  // rows it reads anyway (their tenant_id too); a count of a tenant or provider reads 0022's index.
  const archived = filter.archived ?? 'exclude';
  if (archived !== 'include') conditions.push(eb('device.is_archived', '=', archived === 'only'));
  return eb.and(conditions);
}

/**
 * The device's current ownership row: active and not deleted; within a page's id bound when one is
 * given (see DeviceIdBound).
 */
export function ownerRow(tenantId: number, bound?: DeviceIdBound) {
  const row = expressionBuilder<DB, 'device'>()
    .selectFrom('device_tenant as dt')
    .select('dt.id')
    .whereRef('dt.device_id', '=', 'device.id')
    .where('dt.tenant_id', '=', tenantId)
    .where('dt.is_active', '=', true)
    .where('dt.is_deleted', '=', false);
  return bound ? row.where('dt.device_id', bound.op, bound.id) : row;
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
  /** The bulk change that made the change (its page, its change log for this device). */
  bulkChange: { id: number; changeType: string; status: string } | null;
}

/**
 * One query: a device's history, newest first (`device_history_device_idx`). Each state (`before`,
 * `after`) that names a customer, site, customer rate plan or pool by id also carries its name
 * (`customerName`, `siteName`, `ratePlanName`, `ratePoolName`): the screen shows names, not ids. A
 * customer the principal may not access (a previous owner) keeps its id only, and so does its site.
 */
export async function listDeviceHistory(
  db: Executor,
  tenantId: number,
  deviceId: number,
  window: Window,
  visible?: readonly number[],
): Promise<DeviceHistoryRow[]> {
  const before = window.afterId === undefined ? sql`` : sql`AND h.id < ${window.afterId}`;
  const { rows } = await sql<
    Omit<DeviceHistoryRow, 'changedBy'> & {
      changedById: number | null;
      changedByName: string | null;
    }
  >`
    SELECT h.id, h.change_type AS "changeType", ${withNames(sql`h.before`, tenantId, visible)} AS before,
           ${withNames(sql`h.after`, tenantId, visible)} AS after, h.changed_by AS "changedById",
           u.name AS "changedByName", h.changed_at AS "changedAt", h.bulk_change_id AS "bulkChangeId",
           CASE WHEN b.id IS NOT NULL
                THEN jsonb_build_object('id', b.id, 'changeType', b.change_type, 'status', b.status) END AS "bulkChange"
    FROM device_history h
    LEFT JOIN app_user u ON u.id = h.changed_by AND u.tenant_id = ${tenantId}
    LEFT JOIN bulk_change b ON b.id = h.bulk_change_id AND b.tenant_id = ${tenantId}
    WHERE h.device_id = ${deviceId} AND h.tenant_id = ${tenantId} ${before}
    ORDER BY h.id DESC LIMIT ${window.limit}
  `.execute(db);
  return rows.map(({ changedById, changedByName, ...row }) => ({
    ...row,
    changedBy:
      changedById !== null && changedByName !== null ? { id: changedById, name: changedByName } : null,
  }));
}

/** A history state (jsonb) with the names of the ids it holds added beside them. */
function withNames(state: RawBuilder<unknown>, tenantId: number, visible: readonly number[] | undefined) {
  const idOf = (key: string) =>
    sql`CASE WHEN jsonb_typeof(${state} -> ${sql.lit(key)}) = 'number' THEN (${state} ->> ${sql.lit(key)})::bigint END`;
  const mayAccess = (customer: RawBuilder<unknown>) =>
    visible === undefined ? sql`true` : sql`${customer} = ANY(${[...visible]}::bigint[])`;
  return sql`CASE WHEN jsonb_typeof(${state}) = 'object' THEN ${state} || jsonb_strip_nulls(jsonb_build_object(
      'customerName', (SELECT c.name FROM customer c WHERE c.id = ${idOf('customerId')} AND c.tenant_id = ${tenantId}
                         AND ${mayAccess(sql`c.id`)}),
      'siteName', (SELECT s.name FROM site s WHERE s.id = ${idOf('siteId')} AND s.tenant_id = ${tenantId}
                     AND ${mayAccess(sql`s.customer_id`)}),
      'ratePlanName', (SELECT p.name FROM customer_rate_plan p WHERE p.id = ${idOf('ratePlanId')}
                         AND p.tenant_id = ${tenantId}),
      'ratePoolName', (SELECT p.name FROM customer_rate_pool p WHERE p.id = ${idOf('ratePoolId')}
                         AND p.tenant_id = ${tenantId})))
    ELSE ${state} END`;
}
