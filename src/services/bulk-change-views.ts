import type { StatusCounts } from '../db/repositories/bulk-change.repository.ts';
import type * as repo from '../db/repositories/bulk-change.repository.ts';
import type { ChangeLogStep } from '../db/repositories/change-log-steps.ts';
import type { RevOptionNames } from '../db/repositories/rev-option-names.repository.ts';
import type { BulkChangeStatus, WorkOrderStatus } from '../db/schema.ts';
import { actionsOf, type BulkChangeAction } from './bulk-change-actions.ts';
import type { Principal } from './principal.ts';

/** A bulk change, its work orders and its change log as the API shows them, from their rows. */

export interface BulkChangeView {
  id: number;
  changeType: 'customer_assignment' | 'undo';
  status: BulkChangeStatus;
  serviceProviderId: number;
  customerId: number;
  siteId: number | null;
  options: unknown;
  source: string;
  createdBy: { id: number; name: string; email: string };
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  /** When a cancel was requested (the devices already begun still finish all their steps). */
  cancelRequestedAt: string | null;
  counts: StatusCounts;
  /** What the caller may do now; the same rule guards the actions themselves. */
  actions: BulkChangeAction[];
  /** Written when the bulk change finishes; null while it runs. */
  stats: BulkChangeStats | null;
  /** An undo: the bulk change it takes back. */
  undoOf: number | null;
  /** The undo (not cancelled) that takes this bulk change back, once there is one. */
  undoneBy: number | null;
  /** The names of `options.revService`'s ids; null: no Rev.io options. */
  revServiceNames: RevOptionNames | null;
}

export interface BulkChangeStats {
  durationMs: number;
  /** Devices that went through processing (all but the cancelled) per second of the run. */
  devicesPerSecond: number;
  /** Requests to each external system recorded in the change log (`revio`, `thingspace`, `jasper`). */
  externalCalls: Record<string, number>;
}

/** The counts the finish wrote into `stats` (null while the change runs, or before they were kept). */
export function countsOf(row: repo.BulkChangeRow): StatusCounts | null {
  if (row.completed_at === null || row.stats === null || typeof row.stats !== 'object') return null;
  const counts = (row.stats as { counts?: Partial<StatusCounts> }).counts;
  const keys: (keyof StatusCounts)[] = [
    'total',
    'pending',
    'processing',
    'waiting',
    'processed',
    'error',
    'cancelled',
  ];
  if (!counts || keys.some((key) => typeof counts[key] !== 'number')) return null;
  return Object.fromEntries(keys.map((key) => [key, counts[key]])) as unknown as StatusCounts;
}

/** The statistics the finish wrote (`bulk_change.stats`), as the API shows them. */
export function statsOf(stats: unknown): BulkChangeStats | null {
  if (stats === null || typeof stats !== 'object') return null;
  const { durationMs, counts, externalCalls } = stats as {
    durationMs?: number;
    counts?: { total?: number; cancelled?: number };
    externalCalls?: Record<string, number>;
  };
  if (typeof durationMs !== 'number') return null;
  const devices = (counts?.total ?? 0) - (counts?.cancelled ?? 0);
  return {
    durationMs,
    devicesPerSecond: durationMs > 0 ? Math.round((devices / durationMs) * 1000 * 10) / 10 : 0,
    externalCalls: externalCalls ?? {},
  };
}

export interface WorkOrderView {
  id: number;
  deviceId: number | null;
  identifier: string;
  iccid: string | null;
  msisdn: string | null;
  status: WorkOrderStatus;
  errorCategory: string | null;
  message: string | null;
  revServiceId: number | null;
  stepsDone: string[];
  processedAt: string | null;
}

export interface ChangeLogView {
  id: number;
  workOrderId: number | null;
  deviceId: number | null;
  iccid: string | null;
  identifier: string | null;
  description: string;
  portalType: string;
  requestText: string | null;
  responseStatus: string | null;
  responseText: string | null;
  hasError: boolean;
  errorText: string | null;
  processedBy: string;
  submittedBy: string | null;
  system: string | null;
  processedAt: string;
  /** The step the entry belongs to (change-log-steps.ts). */
  step: ChangeLogStep;
}

export function toView(
  principal: Principal,
  row: repo.BulkChangeRow,
  counts: StatusCounts,
  retryable: number,
  links: { undoOf: number | null; undoneBy: number | null },
  failedButChanged: boolean,
  revServiceNames: RevOptionNames | null,
): BulkChangeView {
  const facts = {
    failedButChanged,
    id: row.id,
    status: row.status,
    cancelRequested: row.cancel_requested_at !== null,
    counts,
    retryable,
    changeType: row.change_type,
    undoneBy: links.undoneBy,
  };
  return {
    id: row.id,
    changeType: row.change_type,
    status: row.status,
    serviceProviderId: row.service_provider_id,
    customerId: row.customer_id,
    siteId: row.site_id,
    options: row.options,
    source: row.source,
    createdBy: { id: row.created_by, name: row.created_by_name, email: row.created_by_email },
    createdAt: row.created_at.toISOString(),
    startedAt: row.started_at?.toISOString() ?? null,
    completedAt: row.completed_at?.toISOString() ?? null,
    cancelRequestedAt: row.cancel_requested_at?.toISOString() ?? null,
    counts,
    actions: actionsOf(principal, facts),
    stats: statsOf(row.stats),
    undoOf: links.undoOf,
    undoneBy: links.undoneBy,
    revServiceNames,
  };
}

export function toWorkOrderView(row: repo.WorkOrderRow): WorkOrderView {
  return {
    id: row.id,
    deviceId: row.device_id,
    identifier: row.identifier,
    iccid: row.iccid,
    msisdn: row.msisdn,
    status: row.status,
    errorCategory: row.error_category,
    message: row.message,
    revServiceId: row.rev_service_id,
    stepsDone: row.steps_done,
    processedAt: row.processed_at?.toISOString() ?? null,
  };
}

export function toChangeLogView(l: repo.ChangeLogRow): ChangeLogView {
  return {
    id: l.id,
    workOrderId: l.bulk_change_device_id,
    deviceId: l.device_id,
    iccid: l.iccid,
    identifier: l.identifier,
    description: l.description,
    portalType: l.portal_type,
    requestText: l.request_text,
    responseStatus: l.response_status,
    responseText: l.response_text,
    hasError: l.has_error,
    errorText: l.error_text,
    processedBy: l.processed_by,
    submittedBy: l.submitted_by,
    system: l.system,
    processedAt: l.processed_at.toISOString(),
    step: l.step,
  };
}
