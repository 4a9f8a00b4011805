import { expressionBuilder, sql, type Expression, type SqlBool } from 'kysely';
import type { Executor } from '../database.ts';
import type { DB } from '../schema.ts';
import {
  deviceFilterCondition,
  ownerRow,
  type DeviceFilter,
  type DeviceIdBound,
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
export function visibleDeviceCondition(
  tenantId: number,
  customerIds: VisibleCustomers,
  bound?: DeviceIdBound,
): Expression<SqlBool> {
  const eb = expressionBuilder<DB, 'device'>();
  const inTenant = eb('device.tenant_id', '=', tenantId);
  if (customerIds === undefined) return inTenant;
  const foreignOwner = ownerRow(tenantId, bound)
    .where('dt.customer_id', 'is not', null)
    .where(sql<SqlBool>`dt.customer_id <> ALL(${[...customerIds]}::bigint[])`);
  return eb.and([inTenant, eb.not(eb.exists(foreignOwner))]);
}

/**
 * The identifiers (ICCID or MSISDN) of the devices matching `filter` that the principal may see, in
 * id order, at most `limit`: "all devices matching this filter" of a bulk change, exactly the set
 * `listFleet` pages through.
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
