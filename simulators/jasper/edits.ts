import {
  CUSTOM_FIELDS,
  ERRORS,
  JASPER_STATUSES,
  jasperTime,
  MAX_EFFECTIVE_DAYS,
  utcToday,
  type JasperSimDevice,
} from './wire.ts';

/** A device edit (`PUT /devices/{iccid}`): checked, then applied now or kept for its effective day. */

export const EDITABLE = ['status', 'ratePlan', 'communicationPlan', 'customer', ...CUSTOM_FIELDS] as const;
export type EditableField = (typeof EDITABLE)[number];
const DAY_MS = 86_400_000;

export interface PendingChange {
  effectiveDate: string;
  changes: Partial<Record<EditableField, string>>;
  requestedAt: string;
}

export function apply(device: JasperSimDevice, changes: PendingChange['changes']): void {
  const wasActivated = device.status === 'ACTIVATED';
  Object.assign(device, changes);
  const now = jasperTime(new Date());
  if (!wasActivated && device.status === 'ACTIVATED') device.dateActivated = now;
  device.dateUpdated = now;
}

type ParsedEdit =
  | { changes: PendingChange['changes']; effectiveDate: string | undefined }
  | { error: { errorMessage: string; errorCode: string } };

export function parseEdit(body: unknown, ratePlans: Set<string>, commPlans: Set<string>): ParsedEdit {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { error: ERRORS.badRequest };
  const changes: PendingChange['changes'] = {};
  let effectiveDate: string | undefined;
  for (const [field, value] of Object.entries(body)) {
    if (typeof value !== 'string') return { error: ERRORS.badRequest };
    if (field === 'effectiveDate') effectiveDate = value;
    else if ((EDITABLE as readonly string[]).includes(field)) changes[field as EditableField] = value;
    else return { error: ERRORS.badRequest };
  }
  const { status, ratePlan, communicationPlan } = changes;
  if (Object.keys(changes).length === 0) return { error: ERRORS.badRequest };
  if (status !== undefined && !(JASPER_STATUSES as readonly string[]).includes(status)) {
    return { error: ERRORS.status };
  }
  if (ratePlan !== undefined && !ratePlans.has(ratePlan)) return { error: ERRORS.ratePlan };
  if (communicationPlan !== undefined && !commPlans.has(communicationPlan)) {
    return { error: ERRORS.communicationPlan };
  }
  if (effectiveDate !== undefined && !isWithinEffectiveRange(effectiveDate))
    return { error: ERRORS.effectiveDate };
  return { changes, effectiveDate };
}

/** `yyyy-MM-dd`, a real calendar day, from today (UTC) up to 180 days ahead. */
function isWithinEffectiveRange(ymd: string): boolean {
  const date = /^\d{4}-\d{2}-\d{2}$/.test(ymd) ? Date.parse(`${ymd}T00:00:00Z`) : NaN;
  // `Date.parse` rolls 2025-02-30 over to March: only a round trip proves the day exists.
  if (Number.isNaN(date) || new Date(date).toISOString().slice(0, 10) !== ymd) return false;
  const days = (date - Date.parse(`${utcToday()}T00:00:00Z`)) / DAY_MS;
  return days >= 0 && days <= MAX_EFFECTIVE_DAYS;
}
