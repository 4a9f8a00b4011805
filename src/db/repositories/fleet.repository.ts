import { sql, type SqlBool } from 'kysely';
import type { Executor } from '../database.ts';
import type { DeviceStatus } from '../schema.ts';
import { visibleDeviceCondition, type VisibleCustomers } from './device-access.repository.ts';
import { deviceFilterCondition, type DeviceFilter, type DeviceIdBound } from './device.repository.ts';
import { fleetRanges, sortName, type FleetCursor, type FleetRange, type FleetSort } from './fleet-sort.ts';

/**
 * The fleet list: the devices matching a filter that a principal may see, in any order of
 * fleet-sort.ts, each with the names a screen shows beside the ids; and their count. The WHERE
 * clause is `deviceFilterCondition` + `visibleDeviceCondition`, exactly what a bulk change
 * submitted with the same filter selects.
 */

export interface FleetRow {
  id: number;
  serviceProviderId: number;
  iccid: string;
  msisdn: string | null;
  imei: string | null;
  status: DeviceStatus;
  customerId: number | null;
  customerName: string | null;
  siteId: number | null;
  siteName: string | null;
  carrierRatePlan: string | null;
  communicationPlan: string | null;
  /** A carrier plan sent with a later effective date, in force from that day. */
  scheduledCarrierPlan: { ratePlan: string; communicationPlan: string | null; effectiveDate: string } | null;
  activatedAt: string | null;
  updatedAt: Date;
  archived: boolean;
}

export interface FleetQuery {
  tenantId: number;
  visible: VisibleCustomers;
  filter: DeviceFilter;
  sort: FleetSort;
  cursor: FleetCursor | undefined;
  limit: number;
}

/**
 * The page (`limit` rows; ask one more to know whether another follows) and the cursor of each
 * row: one query, two when the page spans the end of the rows with a sort key (fleet-sort.ts).
 * The page is found on ids and keys only; then the few rows it holds are joined to their owner,
 * site and scheduled plan.
 */
export async function listFleet(
  db: Executor,
  query: FleetQuery,
): Promise<{ row: FleetRow; cursor: FleetCursor }[]> {
  const { tenantId, visible, filter, sort } = query;
  // In id order the cursor also bounds the ownership subqueries: a merge join then starts at it.
  const bound: DeviceIdBound | undefined =
    sort.key === 'id' && query.cursor ? { op: sort.descending ? '<' : '>', id: query.cursor.id } : undefined;
  const matches = sql<SqlBool>`(${deviceFilterCondition(tenantId, filter, bound)}) AND (${visibleDeviceCondition(tenantId, visible, bound)})`;
  const ranges = fleetRanges({
    tenantId,
    sort,
    cursor: query.cursor,
    matches,
    eachProvider: filter.serviceProviderId === undefined,
    customers: {
      only: intersect(visible, filter.customerId),
      owned: filter.unassigned !== true,
      unowned: filter.unassigned !== false && filter.customerId === undefined && filter.siteId === undefined,
    },
  });
  const page: { row: FleetRow; cursor: FleetCursor }[] = [];
  for (const range of ranges) {
    if (page.length >= query.limit) break;
    page.push(...(await readRange(db, tenantId, sort, range, query.limit - page.length)));
  }
  return page;
}

async function readRange(
  db: Executor,
  tenantId: number,
  sort: FleetSort,
  range: FleetRange,
  limit: number,
): Promise<{ row: FleetRow; cursor: FleetCursor }[]> {
  const dir = sort.descending ? sql`DESC` : sql`ASC`;
  const { rows } = await sql<FleetRow & { sortKey: string | null; sortCustomer: number | null }>`
    SELECT device.id, device.service_provider_id AS "serviceProviderId", device.iccid, device.msisdn,
           device.imei, device.status, c.id AS "customerId", c.name AS "customerName",
           st.id AS "siteId", st.name AS "siteName", device.carrier_rate_plan AS "carrierRatePlan",
           device.communication_plan AS "communicationPlan",
           (SELECT jsonb_build_object('ratePlan', s.carrier_rate_plan, 'communicationPlan', s.communication_plan,
                                      'effectiveDate', s.effective_date)
            FROM scheduled_carrier_plan_change s
            WHERE s.device_id = device.id AND s.tenant_id = ${tenantId} AND s.status = 'scheduled'
            ORDER BY s.effective_date DESC, s.id DESC LIMIT 1) AS "scheduledCarrierPlan",
           device.activated_at AS "activatedAt", device.updated_at AS "updatedAt",
           device.is_archived AS archived, p.k AS "sortKey", p.cid AS "sortCustomer"
    FROM (${range(limit)}) AS p
    JOIN device ON device.id = p.id
    -- An ownership row without a customer is no owner: no site either.
    LEFT JOIN device_tenant owner ON owner.device_id = device.id AND owner.tenant_id = ${tenantId}
         AND owner.is_active AND NOT owner.is_deleted AND owner.customer_id IS NOT NULL
    LEFT JOIN customer c ON c.id = owner.customer_id
    LEFT JOIN site st ON st.id = owner.site_id
    ORDER BY p.s ${dir}, p.cid ${dir}, p.id ${dir}
  `.execute(db);
  const name = sortName(sort);
  return rows.map(({ sortKey, sortCustomer, ...row }) => ({
    row,
    cursor:
      sort.key === 'id'
        ? name === 'id'
          ? { id: row.id }
          : { s: name, id: row.id }
        : sort.key === 'customer'
          ? { s: name, k: sortKey, c: sortCustomer, id: row.id }
          : { s: name, k: sortKey, id: row.id },
  }));
}

/**
 * How many devices match: one count over the same WHERE clause, stopping at `upTo` when given.
 * Measured on a 1,000,000-device tenant (PostgreSQL 18, 2 busy cores): a filter an index narrows
 * (plan, prefix, site, a small customer) counts in milliseconds; the whole fleet or half of it
 * in 0.4–0.5 s, and unassigned devices (an anti join with ownership) in about 1 s. With `upTo`
 * 100,001 (one more than a bulk change takes) no count reads more than that many devices.
 */
export async function countFleet(
  db: Executor,
  query: Pick<FleetQuery, 'tenantId' | 'visible' | 'filter'> & { upTo?: number | undefined },
): Promise<number> {
  const { tenantId, visible, filter, upTo } = query;
  const where = sql`(${deviceFilterCondition(tenantId, filter)}) AND (${visibleDeviceCondition(tenantId, visible)})`;
  const { rows } = await (
    upTo === undefined
      ? sql<{ count: number }>`SELECT count(*)::bigint AS count FROM device WHERE ${where}`
      : sql<{
          count: number;
        }>`SELECT count(*)::bigint AS count FROM (SELECT 1 FROM device WHERE ${where} LIMIT ${upTo}) AS m`
  ).execute(db);
  return rows[0]!.count;
}

/** The customers the customer sort walks: those visible, narrowed to the filter's one. */
function intersect(visible: VisibleCustomers, customerId: number | undefined): readonly number[] | undefined {
  if (customerId === undefined) return visible;
  return visible === undefined || visible.includes(customerId) ? [customerId] : [];
}
