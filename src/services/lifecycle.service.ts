import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import {
  countWorkOrders,
  findBulkChange,
  type StatusCounts,
} from '../db/repositories/bulk-change.repository.ts';
import * as lifecycle from '../db/repositories/lifecycle.repository.ts';
import type { BulkChangeStatus } from '../db/schema.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { CompletionStatus, NotificationService } from './notification.service.ts';
import { assertMayChange, mayAccessCustomer, type Principal } from './principal.ts';

/**
 * A bulk change's life after submission: finished once (final status, service links, completion
 * statistics, notifications — all in one transaction), retried for its retryable failures,
 * cancelled while open.
 */

export interface LifecycleService {
  /** The finish step; true when this call finished it (false: something is open, or already finished). */
  finish(bulkChangeId: number): Promise<boolean>;
  retryFailed(
    principal: Principal,
    id: number,
  ): Promise<{ id: number; status: BulkChangeStatus; counts: StatusCounts }>;
  cancel(
    principal: Principal,
    id: number,
  ): Promise<{ id: number; status: BulkChangeStatus; counts: StatusCounts }>;
}

export function createLifecycleService(deps: {
  db: Database;
  queue: JobQueue;
  config: Config;
  notifications: NotificationService;
}): LifecycleService {
  const { db } = deps;

  async function changeable(principal: Principal, id: number) {
    assertMayChange(principal);
    const row = await findBulkChange(db, principal.tenantId, id);
    if (!row || !mayAccessCustomer(principal, row.customer_id))
      throw new NotFoundError(`Bulk change ${id} not found.`);
    return row;
  }

  async function summary(id: number) {
    const row = await db
      .selectFrom('bulk_change')
      .select('status')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    const counts = (await countWorkOrders(db, [id])).get(id)!;
    return { id, status: row.status, counts };
  }

  return {
    async finish(bulkChangeId) {
      return db.transaction().execute(async (trx) => {
        const finished = await lifecycle.finishIfNothingOpen(trx, bulkChangeId);
        if (!finished) return false;
        await lifecycle.syncServiceLinks(trx, bulkChangeId);
        const submitter = await trx
          .selectFrom('app_user')
          .select(['id', 'name', 'email'])
          .where('id', '=', finished.createdBy)
          .executeTakeFirstOrThrow();
        await deps.notifications.enqueueCompletion(trx, {
          tenantId: finished.tenantId,
          bulkChangeId,
          status: finished.status as CompletionStatus,
          counts: finished.counts,
          startedAt: finished.startedAt ? new Date(finished.startedAt).toISOString() : null,
          completedAt: new Date(finished.completedAt).toISOString(),
          submitter,
        });
        return true;
      });
    },

    async retryFailed(principal, id) {
      const row = await changeable(principal, id);
      if (row.status !== 'PROCESSED_WITH_ERRORS' && row.status !== 'ERROR') {
        throw new ConflictError(
          `Bulk change ${id} is ${row.status}: only a finished bulk change with failures can be retried.`,
        );
      }
      const reopened = await db.transaction().execute(async (trx) => {
        const chunks = await lifecycle.reopenRetryable(trx, id, deps.config.worker.chunkSize);
        if (chunks.length === 0) return false;
        await lifecycle.reopenBulkChange(trx, id);
        await deps.queue.enqueueMany(
          trx,
          'bulk-change.process-chunk',
          chunks.map((chunk) => ({ bulkChangeId: id, chunk })),
        );
        return true;
      });
      if (!reopened) {
        throw new ConflictError(
          `Bulk change ${id} has no failure that a retry can fix (ineligible devices and refusals by the remote system stay failed).`,
        );
      }
      return summary(id);
    },

    async cancel(principal, id) {
      const row = await changeable(principal, id);
      if (row.status !== 'NEW' && row.status !== 'PROCESSING') {
        throw new ConflictError(
          `Bulk change ${id} is ${row.status}: only an open bulk change can be cancelled.`,
        );
      }
      await db.transaction().execute(async (trx) => {
        await lifecycle.cancelOpen(trx, id);
        // Devices in flight finish their current step; the worker finishes the bulk change then.
        await deps.queue.enqueue(trx, 'bulk-change.finish', { bulkChangeId: id });
      });
      return summary(id);
    },
  };
}
