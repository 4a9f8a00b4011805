import { expressionBuilder, sql, type Expression, type SqlBool } from 'kysely';
import type { Executor } from '../database.ts';
import type { DB } from '../schema.ts';
import {
  deviceFilterCondition,
  type DeviceFilter,
  type DeviceListRow,
  type Window,
} from './device.repository.ts';

/**
 * Device reads as a principal limited to some customers sees them: unassigned devices and those of
 * its customers, nothing else (security review, issue 18). The device list, a device's history and
 * "all devices matching this filter" of a bulk change all apply `visibleDeviceCondition`, so what a
 * screen lists and what a bulk change then works on cannot differ.
 */

/**
 * The customers whose devices a principal sees besides unassigned ones; undefined: every customer
 * of the tenant (see Principal.allCustomers).
 */
export type VisibleCustomers = readonly number[] | undefined;

/**
 * The devices a principal limited to `customerIds` may see: those with no owner and those owned by
 * one of `customerIds` — no owner row with another customer. An anti join on
 * `device_tenant (device_id, tenant_id)`, like the ownership tests of `deviceFilterCondition`, for
 * any query that reads `device` under its own name. Always includes `device.tenant_id = tenantId`.
 */
export function visibleDeviceCondition(tenantId: number, customerIds: VisibleCustomers): Expression<SqlBool> {
  const eb = expressionBuilder<DB, 'device'>();
  const inTenant = eb('device.tenant_id', '=', tenantId);
  if (customerIds === undefined) return inTenant;
  const foreignOwner = eb
    .selectFrom('device_tenant as dt')
    .select('dt.id')
    .whereRef('dt.device_id', '=', 'device.id')
    .where('dt.tenant_id', '=', tenantId)
    .where('dt.is_active', '=', true)
    .where('dt.is_deleted', '=', false)
    .where('dt.customer_id', 'is not', null)
    .where(sql<SqlBool>`dt.customer_id <> ALL(${[...customerIds]}::bigint[])`);
  return eb.and([inTenant, eb.not(eb.exists(foreignOwner))]);
}

/**
 * One query: the page of devices matching `filter` that the principal may see, with their current
 * owner, ordered by id: the device filter of GET /devices plus `visibleDeviceCondition`.
 */
export async function listVisibleDevices(
  db: Executor,
  tenantId: number,
  visible: VisibleCustomers,
  filter: DeviceFilter,
  window: Window,
): Promise<DeviceListRow[]> {
  let query = db
    .selectFrom('device')
    .leftJoin('device_tenant as owner', (join) =>
      join
        .onRef('owner.device_id', '=', 'device.id')
        .on('owner.tenant_id', '=', tenantId)
        .on('owner.is_active', '=', true)
        .on('owner.is_deleted', '=', false),
    )
    .select([
      'device.id',
      'device.iccid',
      'device.msisdn',
      'device.imei',
      'device.status',
      'owner.customer_id as customerId',
      'owner.site_id as siteId',
      'device.carrier_rate_plan as carrierRatePlan',
      'device.communication_plan as communicationPlan',
      sql<DeviceListRow['scheduledCarrierPlan']>`(
        SELECT jsonb_build_object('ratePlan', s.carrier_rate_plan, 'communicationPlan', s.communication_plan,
                                  'effectiveDate', s.effective_date)
        FROM scheduled_carrier_plan_change s
        WHERE s.device_id = device.id AND s.tenant_id = ${tenantId} AND s.status = 'scheduled'
        ORDER BY s.effective_date DESC, s.id DESC LIMIT 1)`.as('scheduledCarrierPlan'),
      'device.activated_at as activatedAt',
      'device.is_archived as archived',
    ])
    .where(deviceFilterCondition(tenantId, filter))
    .where(visibleDeviceCondition(tenantId, visible));
  if (window.afterId !== undefined) query = query.where('device.id', '>', window.afterId);
  const rows = await query.orderBy('device.id').limit(window.limit).execute();
  // An ownership row without a customer is no owner: show no site either.
  return rows.map((row) => (row.customerId === null ? { ...row, siteId: null } : row));
}

/**
 * The identifiers (ICCID or MSISDN) of the devices matching `filter` that the principal may see, in
 * id order, at most `limit`: "all devices matching this filter" of a bulk change, exactly the set
 * `listVisibleDevices` pages through.
 */
export async function findVisibleIdentifiersMatching(
  db: Executor,
  params: {
    tenantId: number;
    visible: VisibleCustomers;
    filter: DeviceFilter;
    kind: 'iccid' | 'msisdn';
    limit: number;
  },
): Promise<string[]> {
  const rows = await db
    .selectFrom('device')
    .select(`device.${params.kind} as identifier`)
    .where(deviceFilterCondition(params.tenantId, params.filter))
    .where(visibleDeviceCondition(params.tenantId, params.visible))
    .where(`device.${params.kind}`, 'is not', null)
    .orderBy('device.id')
    .limit(params.limit)
    .execute();
  return rows.map((r) => r.identifier!);
}

/** The device's current owner (null: none), or undefined when the tenant has no such device. */
export async function findDeviceOwner(
  db: Executor,
  tenantId: number,
  deviceId: number,
): Promise<{ customerId: number | null } | undefined> {
  return db
    .selectFrom('device')
    .leftJoin('device_tenant as owner', (join) =>
      join
        .onRef('owner.device_id', '=', 'device.id')
        .on('owner.tenant_id', '=', tenantId)
        .on('owner.is_active', '=', true)
        .on('owner.is_deleted', '=', false),
    )
    .select('owner.customer_id as customerId')
    .where('device.id', '=', deviceId)
    .where('device.tenant_id', '=', tenantId)
    .executeTakeFirst();
}
