import type { Database } from '../db/database.ts';
import { countWorkOrders, type StatusCounts } from '../db/repositories/bulk-change.repository.ts';
import type { BulkChangeStatus } from '../db/schema.ts';
import { silentLogger, type Logger } from '../logger.ts';
import type { BulkChangeService, BulkChangeView } from './bulk-change.service.ts';
import type { Principal } from './principal.ts';

/**
 * Live progress of bulk changes, for the screens' event streams. However many streams watch,
 * the process checks once per interval with two queries for every watched bulk change together
 * (their status, and their counts over the work orders' status index); a listener hears of a
 * bulk change only when its progress changed.
 */

export interface Progress {
  id: number;
  status: BulkChangeStatus;
  counts: StatusCounts;
  startedAt: string | null;
  completedAt: string | null;
  cancelRequestedAt: string | null;
}

export type ProgressListener = (progress: Progress) => void;

export interface BulkChangeEventsService {
  /**
   * The bulk change as GET /bulk-changes/:id answers it; NotFound for one the principal may not
   * see. A stream's first and last event.
   */
  snapshot(principal: Principal, id: number): Promise<BulkChangeView>;
  /** Hears `id`'s progress whenever it changes (not at once); returns the unsubscribe. */
  watch(id: number, listener: ProgressListener): () => void;
}

export const FINAL_STATUSES: readonly BulkChangeStatus[] = [
  'PROCESSED',
  'PROCESSED_WITH_ERRORS',
  'ERROR',
  'CANCELLED',
];

export function progressOf(view: BulkChangeView): Progress {
  const { id, status, counts, startedAt, completedAt, cancelRequestedAt } = view;
  return { id, status, counts, startedAt, completedAt, cancelRequestedAt };
}

export function createBulkChangeEventsService(deps: {
  db: Database;
  bulkChanges: BulkChangeService;
  /** How often the watched bulk changes are checked; 1 s. */
  intervalMs?: number;
  logger?: Logger;
}): BulkChangeEventsService {
  const { db } = deps;
  const intervalMs = deps.intervalMs ?? 1000;
  const logger = deps.logger ?? silentLogger;
  const watched = new Map<number, { listeners: Set<ProgressListener>; last: string | undefined }>();
  let timer: NodeJS.Timeout | undefined;
  let checking = false;

  async function check(): Promise<void> {
    // A slow check (a busy database) is not stacked on by the next tick.
    if (checking || watched.size === 0) return;
    checking = true;
    try {
      const ids = [...watched.keys()];
      const [rows, counts] = await Promise.all([
        db
          .selectFrom('bulk_change')
          .select(['id', 'status', 'started_at', 'completed_at', 'cancel_requested_at'])
          .where('id', 'in', ids)
          .execute(),
        countWorkOrders(db, ids),
      ]);
      for (const row of rows) {
        const progress: Progress = {
          id: row.id,
          status: row.status,
          counts: counts.get(row.id)!,
          startedAt: row.started_at?.toISOString() ?? null,
          completedAt: row.completed_at?.toISOString() ?? null,
          cancelRequestedAt: row.cancel_requested_at?.toISOString() ?? null,
        };
        const entry = watched.get(row.id);
        const text = JSON.stringify(progress);
        if (!entry || entry.last === text) continue;
        entry.last = text;
        for (const listener of [...entry.listeners]) listener(progress);
      }
    } catch (error) {
      // The next tick tries again; the streams stay open (their heartbeats go on).
      logger.warn({ err: error }, 'bulk change progress check failed');
    } finally {
      checking = false;
    }
  }

  return {
    snapshot: (principal, id) => deps.bulkChanges.get(principal, id),

    watch(id, listener) {
      let entry = watched.get(id);
      if (!entry) {
        entry = { listeners: new Set(), last: undefined };
        watched.set(id, entry);
      }
      entry.listeners.add(listener);
      if (!timer) {
        timer = setInterval(() => void check(), intervalMs);
        // Never what keeps a process alive.
        timer.unref();
      }
      return () => {
        const current = watched.get(id);
        current?.listeners.delete(listener);
        if (current?.listeners.size === 0) watched.delete(id);
        if (watched.size === 0 && timer) {
          clearInterval(timer);
          timer = undefined;
        }
      };
    },
  };
}
