import type { DeviceStatus, ErrorCategory } from '../../db/schema.ts';
import { mayAccessCustomer, type Principal } from '../principal.ts';

/**
 * The per-device rules of a customer assignment (DESIGN §2), as a pure function over what ONE
 * set-based query found for each identifier. Rules are checked in order; the first that fails is
 * the device's reason. Texts the older system used are kept verbatim (operators search for them).
 */

export interface DeviceCandidate {
  identifier: string;
  deviceId: number | null;
  iccid: string | null;
  msisdn: string | null;
  status: DeviceStatus | null;
  isArchived: boolean;
  /** The ownership row is marked deleted. */
  isDeleted: boolean;
  activatedAt: string | null;
  /** Current owner (an active, not deleted ownership row), if any. */
  ownerCustomerId: number | null;
  /** Customers that hold an active Rev.io service line on this device. */
  activeRevServiceCustomerIds: number[];
  /** An open work order of another bulk change holding the device. */
  openBulkChangeId: number | null;
}

export interface AssignmentTarget {
  customerId: number;
  createRevService: boolean;
}

export type Verdict = { eligible: true } | { eligible: false; category: ErrorCategory; message: string };

export const MESSAGES = {
  notFound: 'Device not found under this service provider.',
  archived: 'Ineligible: device is archived.',
  deleted: 'Ineligible: device is deleted.',
  inactive: (status: string) => `Ineligible: device inactive (carrier status ${status}).`,
  otherCustomerService: 'Active service line. Cannot change customers.',
  sameCustomerService: 'Active service line. New service line not created.',
  conflictTemplate: 'Conflict: the device is in bulk change %s, which is still open.',
  conflict: (bulkChangeId: number) => MESSAGES.conflictTemplate.replace('%s', String(bulkChangeId)),
  ownerNotAccessible: 'Permission denied: the device belongs to a customer you do not have access to.',
} as const;

export function judgeDevice(
  candidate: DeviceCandidate,
  target: AssignmentTarget,
  principal: Principal,
): Verdict {
  const reject = (category: ErrorCategory, message: string): Verdict => ({
    eligible: false,
    category,
    message,
  });

  if (candidate.deviceId === null) return reject('eligibility', MESSAGES.notFound);
  if (candidate.isArchived) return reject('eligibility', MESSAGES.archived);
  if (candidate.isDeleted) return reject('eligibility', MESSAGES.deleted);
  if (candidate.status !== 'active')
    return reject('eligibility', MESSAGES.inactive(candidate.status ?? 'unknown'));
  if (candidate.ownerCustomerId !== null && !mayAccessCustomer(principal, candidate.ownerCustomerId)) {
    return reject('permission', MESSAGES.ownerNotAccessible);
  }
  if (candidate.activeRevServiceCustomerIds.some((id) => id !== target.customerId)) {
    return reject('eligibility', MESSAGES.otherCustomerService);
  }
  if (target.createRevService && candidate.activeRevServiceCustomerIds.includes(target.customerId)) {
    return reject('eligibility', MESSAGES.sameCustomerService);
  }
  if (candidate.openBulkChangeId !== null)
    return reject('eligibility', MESSAGES.conflict(candidate.openBulkChangeId));
  return { eligible: true };
}
