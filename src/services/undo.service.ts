import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import * as bulkChanges from '../db/repositories/bulk-change.repository.ts';
import type { StatusCounts } from '../db/repositories/bulk-change.repository.ts';
import * as undos from '../db/repositories/undo.repository.ts';
import type { BulkChangeStatus } from '../db/schema.ts';
import { ConflictError, NotFoundError, UnprocessableError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { AuditService } from './audit.service.ts';
import { undoRefusal } from './bulk-change-actions.ts';
import { assertMayChange, mayAccessCustomer, type Principal } from './principal.ts';

/**
 * Undo of a bulk change (issue 16): a new bulk change of type `undo`, linked to the original, with
 * one work order per device the original changed. Devices changed since are judged here (and their
 * work orders written ERROR / eligibility, naming what changed them); the rest are queued, and the
 * worker restores each (undo.step.ts). Like a submission: every refusal writes nothing, and the
 * bulk change, its work orders, the refusals' log entries and the jobs are ONE transaction.
 */

export interface UndoDryRun {
  dryRun: true;
  undoOf: number;
  counts: {
    /** Devices the original changed. */
    total: number;
    /** Devices that would be put back. */
    restorable: number;
    /** Devices changed since (left alone, reported). */
    conflicts: number;
    revServices: number;
    revServiceProducts: number;
    carrierPlans: number;
  };
  conflicts: { deviceId: number; identifier: string; message: string }[];
}

export interface UndoSubmitResult {
  id: number;
  undoOf: number;
  status: BulkChangeStatus;
  counts: StatusCounts;
  replayed: boolean;
}

export interface UndoService {
  submit(
    principal: Principal,
    originalId: number,
    options: { dryRun?: boolean; idempotencyKey?: string },
  ): Promise<UndoDryRun | UndoSubmitResult>;
}

const REJECTION_LOG = 'Undo: Validate Device';
const API_PROCESS = 'simbind-api';

export function createUndoService(deps: {
  db: Database;
  queue: JobQueue;
  config: Config;
  audit?: AuditService;
  today?: () => string;
}): UndoService {
  const { db } = deps;
  const today = deps.today ?? (() => new Date().toISOString().slice(0, 10));
  /** What an Idempotency-Key is bound to: the same key for another bulk change's undo is refused. */
  const hashOf = (originalId: number) => `undo:${originalId}`;

  async function replayed(principal: Principal, key: string, originalId: number) {
    const existing = await bulkChanges.findByIdempotencyKey(db, principal.tenantId, principal.userId, key);
    if (!existing) return undefined;
    if (existing.request_hash !== hashOf(originalId)) {
      throw new UnprocessableError('This Idempotency-Key was already used with a different request.', [
        { path: '/headers/idempotency-key', message: `already used for bulk change ${existing.id}` },
      ]);
    }
    const counts = (await bulkChanges.countWorkOrders(db, [existing.id])).get(existing.id)!;
    return { id: existing.id, undoOf: originalId, status: existing.status, counts, replayed: true };
  }

  return {
    async submit(principal, originalId, options) {
      try {
        assertMayChange(principal);
      } catch (error) {
        await deps.audit?.actionRefused(principal, 'bulk_change.undo', originalId, error);
        throw error;
      }
      const original = await bulkChanges.findBulkChange(db, principal.tenantId, originalId);
      if (!original || !mayAccessCustomer(principal, original.customer_id))
        throw new NotFoundError(`Bulk change ${originalId} not found.`);
      if (options.idempotencyKey && !options.dryRun) {
        const replay = await replayed(principal, options.idempotencyKey, originalId);
        if (replay) return replay;
      }

      const refuse = async () => {
        const counts = (await bulkChanges.countWorkOrders(db, [originalId])).get(originalId)!;
        return undoRefusal({
          id: originalId,
          status: original.status,
          cancelRequested: original.cancel_requested_at !== null,
          counts,
          retryable: 0,
          changeType: original.change_type,
          undoneBy: (await undos.findLiveUndo(db, originalId)) ?? null,
          failedButChanged: (await bulkChanges.withFailedButChanged(db, [originalId])).has(originalId),
        });
      };
      const refusal = await refuse();
      if (refusal) throw new ConflictError(refusal);

      const candidates = await undos.findUndoCandidates(db, { originalId, undoId: null, today: today() });
      if (candidates.length === 0)
        throw new ConflictError(`Bulk change ${originalId} changed no device: nothing to undo.`);
      const restorable = candidates.filter((c) => c.conflict === null);

      if (options.dryRun) {
        return {
          dryRun: true,
          undoOf: originalId,
          counts: {
            total: candidates.length,
            restorable: restorable.length,
            conflicts: candidates.length - restorable.length,
            revServices: sum(restorable, (c) => c.revServices),
            revServiceProducts: sum(restorable, (c) => c.revServiceProducts),
            carrierPlans: restorable.filter((c) => c.carrierPlan?.ratePlan).length,
          },
          conflicts: candidates
            .filter((c) => c.conflict !== null)
            .map((c) => ({ deviceId: c.deviceId, identifier: c.identifier, message: c.conflict! })),
        };
      }

      try {
        const id = await db.transaction().execute(async (trx) => {
          // The original's row lock orders this with its retry (which re-opens it) and with another undo.
          const locked = await trx
            .selectFrom('bulk_change')
            .select(['status', 'portal_type'])
            .where('id', '=', originalId)
            .forUpdate()
            .executeTakeFirstOrThrow();
          if (locked.status === 'NEW' || locked.status === 'PROCESSING') {
            throw new ConflictError(
              `Bulk change ${originalId} is still running (${locked.status}): cancel it first, or wait until it finishes.`,
            );
          }
          const undoId = await undos.insertUndoBulkChange(trx, {
            tenantId: principal.tenantId,
            originalId,
            createdBy: principal.userId,
            idempotencyKey: options.idempotencyKey ?? null,
            requestHash: hashOf(originalId),
            source: principal.via === 'session' ? 'ui' : 'api',
            totalCount: candidates.length,
          });
          await undos.insertUndoWorkOrders(
            trx,
            {
              tenantId: principal.tenantId,
              undoId,
              originalId,
              chunkSize: deps.config.worker.chunkSize,
              today: today(),
            },
            candidates,
          );
          await bulkChanges.insertRejectionLogs(trx, {
            bulkChangeId: undoId,
            portalType: locked.portal_type,
            processedBy: API_PROCESS,
            submittedBy: principal.email,
            description: REJECTION_LOG,
          });
          const chunks = await bulkChanges.pendingChunks(trx, undoId);
          if (chunks.length > 0) {
            await deps.queue.enqueueMany(
              trx,
              'bulk-change.process-chunk',
              chunks.map((chunk) => ({ bulkChangeId: undoId, chunk })),
            );
          } else {
            await deps.queue.enqueue(trx, 'bulk-change.finish', { bulkChangeId: undoId });
          }
          return undoId;
        });
        const counts = (await bulkChanges.countWorkOrders(db, [id])).get(id)!;
        return { id, undoOf: originalId, status: 'NEW', counts, replayed: false };
      } catch (error) {
        const e = error as { code?: string; constraint?: string };
        if (e.code === '23505' && e.constraint === 'bulk_change_idempotency_key' && options.idempotencyKey) {
          const replay = await replayed(principal, options.idempotencyKey, originalId);
          if (replay) return replay;
        }
        if (e.code === '23505' && e.constraint === 'bulk_change_undo_of_key') {
          const live = await undos.findLiveUndo(db, originalId);
          throw new ConflictError(
            `Bulk change ${originalId} is already undone by bulk change ${live ?? '?'}.`,
          );
        }
        throw error;
      }
    },
  };
}

function sum<T>(items: T[], of: (item: T) => number): number {
  return items.reduce((total, item) => total + of(item), 0);
}
