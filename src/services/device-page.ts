import type { Database } from '../db/database.ts';
import type { VisibleCustomers } from '../db/repositories/device-access.repository.ts';
import {
  findDeviceCore,
  listDeviceBulkChanges,
  listRevServiceLines,
  listScheduledPlanChanges,
  type DeviceBulkChange,
  type DeviceCore,
  type RevServiceLine,
  type ScheduledPlanChange,
} from '../db/repositories/device-page.repository.ts';

/** Dates as the API writes them. */
type Iso<T, K extends keyof T> = Omit<T, K> & { [P in K]: T[P] extends Date ? string : string | null };

export type DevicePage = Omit<Iso<DeviceCore, 'createdAt' | 'updatedAt'>, 'owner'> & {
  owner: (Omit<NonNullable<DeviceCore['owner']>, 'modifiedAt'> & { modifiedAt: string }) | null;
  scheduledPlanChanges: Iso<ScheduledPlanChange, 'createdAt'>[];
  revServices: Iso<RevServiceLine, 'createdAt' | 'disconnectedAt'>[];
  bulkChanges: (Iso<DeviceBulkChange, 'createdAt' | 'completedAt'> & {
    links: { self: string; logs: string };
  })[];
  links: { history: string };
};

/**
 * The device page of `deviceId`, or undefined when the tenant has no such device or it belongs to
 * a customer outside `visible` (the same answer: whether it exists is not told). The device first,
 * then its three lists at once.
 */
export async function readDevicePage(
  db: Database,
  tenantId: number,
  deviceId: number,
  visible: VisibleCustomers,
): Promise<DevicePage | undefined> {
  const core = await findDeviceCore(db, tenantId, deviceId);
  if (!core) return undefined;
  if (core.owner && visible !== undefined && !visible.includes(core.owner.customer.id)) return undefined;
  const [scheduled, revServices, bulkChanges] = await Promise.all([
    listScheduledPlanChanges(db, tenantId, deviceId),
    listRevServiceLines(db, tenantId, deviceId, visible),
    listDeviceBulkChanges(db, tenantId, deviceId, visible),
  ]);
  const base = `/api/v1/bulk-changes`;
  return {
    ...core,
    createdAt: core.createdAt.toISOString(),
    updatedAt: core.updatedAt.toISOString(),
    owner: core.owner ? { ...core.owner, modifiedAt: core.owner.modifiedAt.toISOString() } : null,
    scheduledPlanChanges: scheduled.map((s) => ({ ...s, createdAt: s.createdAt.toISOString() })),
    revServices: revServices.map((r) => ({
      ...r,
      createdAt: r.createdAt.toISOString(),
      disconnectedAt: r.disconnectedAt?.toISOString() ?? null,
    })),
    bulkChanges: bulkChanges.map((b) => ({
      ...b,
      createdAt: b.createdAt.toISOString(),
      completedAt: b.completedAt?.toISOString() ?? null,
      links: { self: `${base}/${b.id}`, logs: `${base}/${b.id}/logs?deviceId=${deviceId}` },
    })),
    links: { history: `/api/v1/devices/${deviceId}/history` },
  };
}
