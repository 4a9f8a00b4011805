import type { Database } from '../db/database.ts';
import * as repo from '../db/repositories/bulk-change.repository.ts';
import { findUndoLinks } from '../db/repositories/undo.repository.ts';
import { findRevOptionNames } from '../db/repositories/rev-option-names.repository.ts';
import { customerExists } from '../db/repositories/reference.repository.ts';
import type { StatusCounts } from '../db/repositories/bulk-change.repository.ts';
import type { ChangeLogStep } from '../db/repositories/change-log-steps.ts';
import type { BulkChangeStatus, WorkOrderStatus } from '../db/schema.ts';
import { NotFoundError } from '../errors.ts';
import { decodeCursor, isIdCursor, toPage, type Page } from '../http/pagination.ts';
import {
  countsOf,
  toChangeLogView,
  toView,
  toWorkOrderView,
  type BulkChangeView,
  type ChangeLogView,
  type WorkOrderView,
} from './bulk-change-views.ts';
import { mayAccessCustomer, type Principal } from './principal.ts';

/**
 * Reading bulk changes: status and counts, per-device results (paged, or all as an export) and the
 * change log. Tenant-scoped; a bulk change for a customer the user may not access does not exist
 * for them (404). The views' shapes are bulk-change-views.ts.
 */

export type { BulkChangeStats, BulkChangeView, ChangeLogView, WorkOrderView } from './bulk-change-views.ts';
export { statsOf } from './bulk-change-views.ts';

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
        items: page.items.map(toChangeLogView),
        nextCursor: page.nextCursor,
      };
    },
  };
}
