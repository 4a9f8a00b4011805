import type { JasperDevice } from '../../clients/jasper.client.ts';
import type { ThingSpaceInventoryDevice } from '../../clients/thingspace.client.ts';
import type { CarrierDevice } from '../../db/repositories/sync-records.repository.ts';
import type { DeviceStatus } from '../../db/schema.ts';

/** A carrier's device, as simbind's device row: its statuses mapped, identifiers kept only when valid. */

/** Control Center's statuses, as simbind's. */
const JASPER_STATUS: Record<string, DeviceStatus> = {
  ACTIVATED: 'active',
  DEACTIVATED: 'deactivated',
  INVENTORY: 'inventory',
  TEST_READY: 'test_ready',
  ACTIVATION_READY: 'inventory',
  RETIRED: 'deactivated',
  PURGED: 'deactivated',
  REPLACED: 'deactivated',
};

/** ThingSpace's device states, as simbind's. */
const THINGSPACE_STATUS: Record<string, DeviceStatus> = {
  active: 'active',
  suspend: 'suspended',
  'pending resume': 'suspended',
  deactive: 'deactivated',
  preactive: 'inventory',
};

export function carrierDeviceOfThingSpace(device: ThingSpaceInventoryDevice): CarrierDevice {
  const digits = (value: string | undefined, pattern: RegExp) =>
    value !== undefined && pattern.test(value) ? value : null;
  return {
    iccid: device.iccid,
    status: THINGSPACE_STATUS[(device.state ?? '').toLowerCase()] ?? 'inactive',
    msisdn: digits(device.mdn, /^\d{7,15}$/),
    imei: digits(device.imei, /^\d{14,16}$/),
    carrierRatePlan: device.servicePlan ?? null,
    // ThingSpace has no communication plans: the value simbind holds is left as it is.
    communicationPlan: null,
    activatedAt: null,
  };
}

/** Control Center's `dateUpdated` (`2026-12-03 10:00:00.000+0000` or ISO) as a time. */
export function jasperTimeOf(text: string | undefined): Date | null {
  if (!text) return null;
  const iso = text
    .trim()
    .replace(' ', 'T')
    .replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const time = Date.parse(iso);
  return Number.isNaN(time) ? null : new Date(time);
}

export function carrierDeviceOfJasper(device: JasperDevice): CarrierDevice {
  const digits = (value: string | undefined, pattern: RegExp) =>
    value !== undefined && pattern.test(value) ? value : null;
  return {
    iccid: device.iccid,
    status: JASPER_STATUS[device.status.toUpperCase()] ?? 'inactive',
    msisdn: digits(device.msisdn, /^\d{7,15}$/),
    imei: digits(device.imei, /^\d{14,16}$/),
    carrierRatePlan: device.ratePlan || null,
    communicationPlan: device.communicationPlan || null,
    activatedAt: jasperTimeOf(device.dateActivated)?.toISOString().slice(0, 10) ?? null,
  };
}
