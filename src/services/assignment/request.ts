import { createHash } from 'node:crypto';
import { InvalidInputError, PayloadTooLargeError, type FieldProblem } from '../../errors.ts';
import type { ArchivedFilter } from '../../db/repositories/device.repository.ts';
import type { DeviceStatus, PortalType } from '../../db/schema.ts';
import { isIccid, isMsisdn, normaliseIdentifier } from '../identifiers.ts';

/**
 * A customer-assignment request as the service sees it, whichever entry point it came through (the
 * JSON API or the older PascalCase endpoints), and the request-level checks that need no database.
 */

export const MAX_DEVICES = 100_000;

export interface RevServiceOptions {
  serviceTypeId: number;
  products?: { productId: number; rate: number }[];
  packageId?: number;
  prorate?: boolean;
  providerId?: number;
  usagePlanGroupId?: number;
  description?: string;
}

/** The device filter of `GET /devices`, for "all devices matching this filter". */
export interface DeviceSelection {
  q?: string;
  status?: DeviceStatus;
  customerId?: number;
  unassigned?: boolean;
  siteId?: number;
  carrierRatePlan?: string;
  /** Absent: `exclude`, as the list. */
  archived?: ArchivedFilter;
}

export interface AssignmentRequest {
  changeType: 'customer_assignment';
  serviceProviderId: number;
  /** ICCIDs (M2M) or MSISDNs (Mobility, LNP) as typed; exactly one of devices / filter. */
  devices?: string[];
  filter?: DeviceSelection;
  customerId: number;
  siteId?: number;
  /** Also move devices that belong to other customers; absent or false: they are refused (`owned`). */
  reassign?: boolean;
  createRevService: boolean;
  revService?: RevServiceOptions;
  addCarrierRatePlan: boolean;
  carrierRatePlan?: { ratePlan: string; communicationPlan?: string };
  addCustomerRatePlan: boolean;
  customerRatePlan?: { ratePlanId?: number; ratePoolId?: number };
  /** yyyy-MM-dd; absent: each device's own activation date. */
  effectiveDate?: string;
  /** yyyy-MM-dd; absent: the day of submission. */
  activatedDate?: string;
  dryRun?: boolean;
}

/** What is stored as the bulk change's `options`: the request minus the device list. */
export type AssignmentOptions = Omit<AssignmentRequest, 'devices' | 'dryRun'>;

export interface NormalisedIdentifiers {
  /** Unique identifiers in first-seen order. */
  unique: string[];
  /** Identifiers that appeared more than once (folded into one work order each). */
  duplicates: string[];
}

/** Checks that need no database; throws InvalidInputError listing every problem. */
export function checkRequestShape(request: AssignmentRequest): void {
  const problems: FieldProblem[] = [];
  const hasDevices = request.devices !== undefined;
  const hasFilter = request.filter !== undefined;
  if (hasDevices === hasFilter) {
    problems.push({
      path: '/devices',
      message: 'give either a list of devices or a filter, not both or neither',
    });
  }
  if (hasDevices && request.devices!.length === 0) {
    problems.push({ path: '/devices', message: 'must list at least one device' });
  }
  if (hasDevices && request.devices!.length > MAX_DEVICES) {
    throw new PayloadTooLargeError(
      `A bulk change takes at most ${MAX_DEVICES.toLocaleString('en')} devices; this one lists ${request.devices!.length.toLocaleString('en')}. Split it.`,
    );
  }

  if (request.createRevService) {
    const rev = request.revService;
    if (!rev) {
      problems.push({ path: '/revService', message: 'is required when createRevService is true' });
    } else {
      const products = rev.products ?? [];
      if (rev.packageId === undefined && products.length === 0) {
        problems.push({ path: '/revService/products', message: 'give products with rates, or a packageId' });
      }
      if (rev.packageId !== undefined && products.length > 0) {
        problems.push({ path: '/revService/products', message: 'give products or a packageId, not both' });
      }
      const ids = products.map((p) => p.productId);
      if (new Set(ids).size !== ids.length) {
        problems.push({ path: '/revService/products', message: 'lists the same product twice' });
      }
    }
  }
  if (request.addCarrierRatePlan && !request.carrierRatePlan?.ratePlan) {
    problems.push({
      path: '/carrierRatePlan/ratePlan',
      message: 'is required when addCarrierRatePlan is true',
    });
  }
  if (
    request.addCustomerRatePlan &&
    request.customerRatePlan?.ratePlanId === undefined &&
    request.customerRatePlan?.ratePoolId === undefined
  ) {
    problems.push({ path: '/customerRatePlan', message: 'give a ratePlanId and/or a ratePoolId' });
  }
  for (const field of ['effectiveDate', 'activatedDate'] as const) {
    const value = request[field];
    if (value !== undefined && !isCalendarDate(value)) {
      problems.push({ path: `/${field}`, message: 'must be a date as yyyy-MM-dd' });
    }
  }
  if (problems.length > 0) throw new InvalidInputError('The bulk change request is invalid.', problems);
}

/** Trims what people paste, folds duplicates, keeps first-seen order. */
export function normaliseIdentifiers(raw: string[]): NormalisedIdentifiers {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  const unique: string[] = [];
  for (const value of raw) {
    const id = normaliseIdentifier(value);
    if (id === '') continue;
    if (seen.has(id)) duplicates.add(id);
    else {
      seen.add(id);
      unique.push(id);
    }
  }
  return { unique, duplicates: [...duplicates] };
}

/** M2M portals identify devices by ICCID; Mobility and LNP by MSISDN (as the older system did). */
export function identifierKind(portalType: PortalType): 'iccid' | 'msisdn' {
  return portalType === 'm2m' ? 'iccid' : 'msisdn';
}

/** Why an identifier cannot even be looked up, or undefined when it looks right. */
export function identifierProblem(identifier: string, kind: 'iccid' | 'msisdn'): string | undefined {
  if (kind === 'iccid') {
    if (!/^\d{19,20}$/.test(identifier)) return 'Not an ICCID: an ICCID has 19 or 20 digits.';
    if (!isIccid(identifier)) return 'Not a valid ICCID: the check digit does not match (typo?).';
    return undefined;
  }
  return isMsisdn(identifier) ? undefined : 'Not an MSISDN: an MSISDN has 7 to 15 digits.';
}

export function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
}

/**
 * Identifies a request for Idempotency-Key replays: the same key must come with the same request.
 * Keys are sorted so that property order does not matter; device order does.
 */
export function requestHash(request: AssignmentRequest): string {
  return createHash('sha256').update(stableStringify(request)).digest('hex');
}

function stableStringify(value: unknown): string {
  // The device list (100,000 strings): the same text as element by element, in a tenth of the time.
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function optionsOf(request: AssignmentRequest): AssignmentOptions {
  const { devices: _devices, dryRun: _dryRun, ...options } = request;
  return options;
}
