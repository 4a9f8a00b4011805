import type { DeviceStatus, ErrorCategory } from '../../db/schema.ts';
import { mayAccessCustomer, type Principal } from '../principal.ts';

/**
 * The per-device rules of a customer assignment (DESIGN §2), as a pure function over what ONE
 * set-based query found for each identifier (nothing: no such device). Rules are checked in order;
 * the first that fails is the device's reason. Texts the older system used are kept verbatim
 * (operators search for them).
 */

/** A device an identifier names, with what the rules need to know about it. */
export interface DeviceCandidate {
  identifier: string;
  deviceId: number;
  iccid: string;
  msisdn: string | null;
  status: DeviceStatus;
  isArchived: boolean;
  /** The ownership row is marked deleted. */
  isDeleted: boolean;
  activatedAt: string | null;
  /** Current owner (an active, not deleted ownership row), if any, with its name and site. */
  ownerCustomerId: number | null;
  ownerCustomerName: string | null;
  ownerSiteId: number | null;
  ownerSiteName: string | null;
  /** Customers that hold an active Rev.io service line on this device. */
  activeRevServiceCustomerIds: number[];
  /** An open work order of another bulk change holding the device. */
  openBulkChangeId: number | null;
}

export interface AssignmentTarget {
  customerId: number;
  createRevService: boolean;
  /** Move devices that another customer owns (off by default: they are refused as `owned`). */
  reassign: boolean;
}

/** Whom a request assigns its devices to, as the per-device rules see it. */
export function targetOf(request: {
  customerId: number;
  createRevService: boolean;
  reassign?: boolean;
}): AssignmentTarget {
  return {
    customerId: request.customerId,
    createRevService: request.createRevService,
    reassign: request.reassign === true,
  };
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
  owned: (owner: string) =>
    `Device already belongs to ${owner}. Set reassign (on the screen: "also move devices that belong to other customers") to move it.`,
} as const;

const ELIGIBLE: Verdict = Object.freeze({ eligible: true });

function reject(category: ErrorCategory, message: string): Verdict {
  return { eligible: false, category, message };
}

export function judgeDevice(
  candidate: DeviceCandidate | undefined,
  target: AssignmentTarget,
  principal: Principal,
): Verdict {
  if (candidate === undefined) return reject('eligibility', MESSAGES.notFound);
  if (candidate.isArchived) return reject('eligibility', MESSAGES.archived);
  if (candidate.isDeleted) return reject('eligibility', MESSAGES.deleted);
  if (candidate.status !== 'active') return reject('eligibility', MESSAGES.inactive(candidate.status));
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
  if (changesHands(candidate, target) && !target.reassign) {
    return reject('owned', MESSAGES.owned(ownerLabel(candidate)));
  }
  // One shared answer: a 100,000-device submission would otherwise allocate 100,000 of them.
  return ELIGIBLE;
}

/** The device is owned, by a customer other than the target. */
export function changesHands(candidate: DeviceCandidate, target: AssignmentTarget): boolean {
  return candidate.ownerCustomerId !== null && candidate.ownerCustomerId !== target.customerId;
}

/** "Acme Fleet (customer 18), site Depot 3". */
export function ownerLabel(candidate: DeviceCandidate): string {
  const site = candidate.ownerSiteName ? `, site ${candidate.ownerSiteName}` : '';
  return `${candidate.ownerCustomerName ?? 'another customer'} (customer ${candidate.ownerCustomerId})${site}`;
}
