import type { Database } from '../../db/database.ts';
import * as openWork from '../../db/repositories/open-work.repository.ts';
import * as repo from '../../db/repositories/processing.repository.ts';
import type { SessionLockTaker } from '../../db/session-lock.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import { withChunkLock } from './chunk-lock.ts';
import { contextOf } from './step-kit.ts';

/**
 * The ways a chunk leaves the worker other than running to its end: the bulk change's finish once
 * no work order is open, the give-up of a chunk job out of retries, and the sweep that hands the
 * chunk jobs of dead workers back to the queue.
 */

const LOG_GAVE_UP = 'Processing: gave up';
/** A fetched chunk job takes its lock within milliseconds; one without a lock after this is orphaned. */
const ABANDONED_GRACE_SECONDS = 10;

export interface ChunkExitDeps {
  db: Database;
  queue: JobQueue;
  chunkLock: SessionLockTaker;
  workerName: string;
}

export function createChunkExits(deps: ChunkExitDeps) {
  const { db } = deps;

  async function finishIfDone(bulkChangeId: number): Promise<void> {
    // Counted after our own commit: of two chunks finishing together, at least the later one sees
    // zero (both may; the finish step is idempotent).
    if (!(await repo.hasOpenWorkOrders(db, bulkChangeId))) {
      await deps.queue.enqueue(db, 'bulk-change.finish', { bulkChangeId });
    }
  }

  return {
    finishIfDone,

    /** Ends the chunk's open work orders ERROR / internal with the last error (see ProcessingService). */
    async abandonChunk(bulkChangeId: number, chunk: number, lastError: string): Promise<number> {
      const bc = await repo.loadBulkChange(db, bulkChangeId);
      if (!bc) return 0;
      const ctx = contextOf(bc, deps.workerName);
      const message = `Processing gave up after the queue's last retry: ${lastError}`;
      const ended = await withChunkLock(deps.chunkLock, bulkChangeId, chunk, () =>
        db.transaction().execute(async (trx) => {
          const rows = await openWork.endOpenWorkOrdersOfChunk(trx, bulkChangeId, chunk, message);
          await repo.insertLogs(
            trx,
            ctx,
            rows.map((w) => ({
              workOrderId: w.id,
              deviceId: w.deviceId,
              description: LOG_GAVE_UP,
              requestText: null,
              responseStatus: null,
              responseText: null,
              hasError: true,
              errorText: message,
            })),
          );
          return rows.length;
        }),
      );
      await finishIfDone(bulkChangeId);
      return ended;
    },

    /** Hands the chunk jobs of dead workers (active, lock released) back to the queue at once. */
    async resumeAbandonedChunks(): Promise<number> {
      const jobs = await openWork.findAbandonedChunkJobs(db, ABANDONED_GRACE_SECONDS);
      if (jobs.length > 0) {
        await deps.queue.fail(
          'bulk-change.process-chunk',
          jobs,
          'its worker is gone (the chunk lock was released)',
        );
        await openWork.startNow(db, jobs);
      }
      return jobs.length;
    },
  };
}
