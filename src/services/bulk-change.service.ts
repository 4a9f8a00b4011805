import type { Database } from '../db/database.ts';
import * as repo from '../db/repositories/bulk-change.repository.ts';
import { findUndoLinks } from '../db/repositories/undo.repository.ts';
import { findRevOptionNames, type RevOptionNames } from '../db/repositories/rev-option-names.repository.ts';
import { customerExists } from '../db/repositories/reference.repository.ts';
import type { StatusCounts } from '../db/repositories/bulk-change.repository.ts';
import type { ChangeLogStep } from '../db/repositories/change-log-steps.ts';
import type { BulkChangeStatus, WorkOrderStatus } from '../db/schema.ts';
import { NotFoundError } from '../errors.ts';
import { decodeCursor, isIdCursor, toPage, type Page } from '../http/pagination.ts';
import { actionsOf, type BulkChangeAction } from './bulk-change-actions.ts';
import { mayAccessCustomer, type Principal } from './principal.ts';

/**
 * Reading bulk changes: status and counts, per-device results (paged, or all as an export) and the
 * change log. Tenant-scoped; a bulk change for a customer the user may not access does not exist
 * for them (404).
 */

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
function countsOf(row: repo.BulkChangeRow): StatusCounts | null {
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

/** The filters of the bulk change list; all optional, combined with AND. */
export interface BulkChangeListQuery {
  status?: BulkChangeStatus;
  changeType?: BulkChangeView['changeType'];
  customerId?: number;
  serviceProviderId?: number;
  createdBy?: number;
  source?: string;
  /** ISO 8601 instants: created at or after `createdFrom`, before `createdBefore`. */
  createdFrom?: string;
  createdBefore?: string;
  cursor?: string;
  limit: number;
}

export interface BulkChangeService {
  list(principal: Principal, query: BulkChangeListQuery): Promise<Page<BulkChangeView>>;
  get(principal: Principal, id: number): Promise<BulkChangeView>;
  devices(
    principal: Principal,
    id: number,
    query: { status?: WorkOrderStatus; cursor?: string; limit: number },
  ): Promise<Page<WorkOrderView>>;
  /** Every work order, fetched in pages of 5,000 so a 100,000-device export never sits in memory. */
  exportDevices(principal: Principal, id: number): Promise<AsyncIterable<WorkOrderView>>;
  logs(
    principal: Principal,
    id: number,
    query: { deviceId?: number; iccid?: string; step?: ChangeLogStep; cursor?: string; limit: number },
  ): Promise<Page<ChangeLogView>>;
}

const EXPORT_PAGE = 5000;

export function createBulkChangeService(deps: { db: Database }): BulkChangeService {
  const { db } = deps;

  async function visible(principal: Principal, id: number): Promise<repo.BulkChangeRow> {
    const row = await repo.findBulkChange(db, principal.tenantId, id);
    if (!row || !mayAccessCustomer(principal, row.customer_id))
      throw new NotFoundError(`Bulk change ${id} not found.`);
    return row;
  }

  async function views(principal: Principal, rows: repo.BulkChangeRow[]): Promise<BulkChangeView[]> {
    const ids = rows.map((r) => r.id);
    // A finished change's counts were written with it and cannot move until a retry re-opens it
    // (which clears them): counting its 100,000 work orders again on every read is 20–70 ms.
    const frozen = new Map<number, StatusCounts>();
    for (const row of rows) {
      const kept = countsOf(row);
      if (kept) frozen.set(row.id, kept);
    }
    const [live, retryable, links, revNames] = await Promise.all([
      repo.countWorkOrders(
        db,
        ids.filter((id) => !frozen.has(id)),
      ),
      repo.countRetryable(db, ids),
      findUndoLinks(db, ids),
      findRevOptionNames(db, principal.tenantId, ids),
    ]);
    const counts = new Map([...live, ...frozen]);
    // Only a change whose devices all failed needs a closer look to know whether undo has work.
    const failedButChanged = await repo.withFailedButChanged(
      db,
      ids.filter((id) => counts.get(id)!.processed === 0 && counts.get(id)!.error > 0),
    );
    return rows.map((row) =>
      toView(
        principal,
        row,
        counts.get(row.id)!,
        retryable.get(row.id)!,
        links.get(row.id) ?? { undoOf: null, undoneBy: null },
        failedButChanged.has(row.id),
        revNames.get(row.id) ?? null,
      ),
    );
  }

  return {
    async list(principal, query) {
      const cursor = decodeCursor(query.cursor, isIdCursor);
      const { customerId, createdFrom, createdBefore } = query;
      // A customer filter narrows what the caller may see; one outside it is simply not found.
      if (
        customerId !== undefined &&
        (!mayAccessCustomer(principal, customerId) ||
          !(await customerExists(db, principal.tenantId, customerId)))
      ) {
        throw new NotFoundError('No customer with this id among those you may access.');
      }
      const rows = await repo.listBulkChanges(db, {
        tenantId: principal.tenantId,
        status: query.status,
        changeType: query.changeType,
        serviceProviderId: query.serviceProviderId,
        createdBy: query.createdBy,
        source: query.source,
        createdFrom: createdFrom === undefined ? undefined : new Date(createdFrom),
        createdBefore: createdBefore === undefined ? undefined : new Date(createdBefore),
        beforeId: cursor?.id,
        customerIds:
          customerId !== undefined
            ? [customerId]
            : principal.allCustomers
              ? undefined
              : [...principal.customerIds],
        limit: query.limit + 1,
      });
      const page = toPage(rows, query.limit, (row) => ({ id: row.id }));
      return { items: await views(principal, page.items), nextCursor: page.nextCursor };
    },

    async get(principal, id) {
      const [view] = await views(principal, [await visible(principal, id)]);
      return view!;
    },

    async devices(principal, id, query) {
      await visible(principal, id);
      const cursor = decodeCursor(query.cursor, isIdCursor);
      const rows = await repo.listWorkOrders(db, {
        bulkChangeId: id,
        status: query.status,
        afterId: cursor?.id,
        limit: query.limit + 1,
      });
      const page = toPage(rows, query.limit, (row) => ({ id: row.id }));
      return { items: page.items.map(toWorkOrderView), nextCursor: page.nextCursor };
    },

    async exportDevices(principal, id) {
      await visible(principal, id);
      return (async function* () {
        let afterId: number | undefined;
        for (;;) {
          const rows = await repo.listWorkOrders(db, { bulkChangeId: id, afterId, limit: EXPORT_PAGE });
          for (const row of rows) yield toWorkOrderView(row);
          if (rows.length < EXPORT_PAGE) return;
          afterId = rows[rows.length - 1]!.id;
        }
      })();
    },

    async logs(principal, id, query) {
      await visible(principal, id);
      const cursor = decodeCursor(query.cursor, isIdCursor);
      const rows = await repo.listChangeLogs(db, {
        bulkChangeId: id,
        deviceId: query.deviceId,
        iccid: query.iccid,
        step: query.step,
        afterId: cursor?.id,
        limit: query.limit + 1,
      });
      const page = toPage(rows, query.limit, (row) => ({ id: row.id }));
      return {
        items: page.items.map((l) => ({
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
        })),
        nextCursor: page.nextCursor,
      };
    },
  };
}

function toView(
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

function toWorkOrderView(row: repo.WorkOrderRow): WorkOrderView {
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
