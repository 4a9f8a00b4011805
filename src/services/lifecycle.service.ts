import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { Executor } from '../db/database.ts';
import {
  countRetryable,
  countWorkOrders,
  findBulkChange,
  type StatusCounts,
} from '../db/repositories/bulk-change.repository.ts';
import * as lifecycle from '../db/repositories/lifecycle.repository.ts';
import * as processingRepo from '../db/repositories/processing.repository.ts';
import { cancelRefusal, retryRefusal, type ActionFacts } from './bulk-change-actions.ts';
import { endCarrierWaits } from './processing/carrier-results.ts';
import { contextOf } from './processing/step-kit.ts';
import type { BulkChangeStatus } from '../db/schema.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { CompletionStatus, NotificationService } from './notification.service.ts';
import type { AuditService } from './audit.service.ts';
import { assertMayChange, mayAccessCustomer, type Principal } from './principal.ts';

const CANCELLED_WAIT =
  "Bulk change cancelled while waiting for ThingSpace to confirm the rate plan change (request {request}); the device's other steps are done: check its rate plan at the carrier.";

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
  audit?: AuditService;
}): LifecycleService {
  const { db } = deps;

  async function changeable(principal: Principal, id: number, action: string) {
    try {
      assertMayChange(principal);
    } catch (error) {
      await deps.audit?.actionRefused(principal, action, id, error);
      throw error;
    }
    const row = await findBulkChange(db, principal.tenantId, id);
    if (!row || !mayAccessCustomer(principal, row.customer_id))
      throw new NotFoundError(`Bulk change ${id} not found.`);
    return row;
  }

  /** The facts the action rules read, under the bulk change's row lock (inside `trx`). */
  async function factsOf(trx: Executor, id: number): Promise<ActionFacts> {
    const row = await trx
      .selectFrom('bulk_change')
      .select(['status', 'cancel_requested_at'])
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    return {
      id,
      status: row.status,
      cancelRequested: row.cancel_requested_at !== null,
      counts: (await countWorkOrders(trx, [id])).get(id)!,
      retryable: (await countRetryable(trx, [id])).get(id)!,
    };
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
      await changeable(principal, id, 'bulk_change.retry');
      const reopened = await db.transaction().execute(async (trx) => {
        const refusal = retryRefusal(await factsOf(trx, id));
        if (refusal) return refusal;
        const chunks = await lifecycle.reopenRetryable(trx, id, deps.config.worker.chunkSize);
        await lifecycle.reopenBulkChange(trx, id);
        await deps.queue.enqueueMany(
          trx,
          'bulk-change.process-chunk',
          chunks.map((chunk) => ({ bulkChangeId: id, chunk })),
        );
        return undefined;
      });
      if (reopened) throw new ConflictError(reopened);
      return summary(id);
    },

    async cancel(principal, id) {
      await changeable(principal, id, 'bulk_change.cancel');
      const refusal = await db.transaction().execute(async (trx) => {
        // The row lock orders this cancel with the finish step and with other cancels.
        const refused = cancelRefusal(await factsOf(trx, id));
        if (refused) return refused;
        const bc = await processingRepo.loadBulkChange(trx, id);
        await lifecycle.cancelPending(trx, id);
        // What waits for a carrier's confirmation has done all its steps; it stops waiting now.
        await endCarrierWaits(trx, contextOf(bc!, principal.email), 'all', CANCELLED_WAIT);
        await lifecycle.markCancelRequested(trx, id);
        // Devices in flight finish all their steps; the worker finishes the bulk change after them
        // (and this job finishes it at once when none are in flight).
        await deps.queue.enqueue(trx, 'bulk-change.finish', { bulkChangeId: id });
        return undefined;
      });
      if (refusal) throw new ConflictError(refusal);
      return summary(id);
    },
  };
}
