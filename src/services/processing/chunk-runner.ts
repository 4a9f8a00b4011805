import type { Database } from '../../db/database.ts';
import * as repo from '../../db/repositories/processing.repository.ts';
import type { SessionLock, SessionLockTaker } from '../../db/session-lock.ts';
import { RetryableError } from '../../errors.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { Logger } from '../../logger.ts';
import type { AssignmentOptions } from '../assignment/request.ts';
import { withChunkLock } from './chunk-lock.ts';
import type { createGroupRunner, GroupFigures } from './group-runner.ts';
import { isLocalOnly, runLocalGroup, type CountDevices } from './local-steps.ts';
import { contextOf } from './step-kit.ts';
import { isUndo, type createUndoRunner } from './undo.step.ts';

/**
 * One chunk job's run: take the chunk's lock, go group by group until nothing is left to claim (or
 * the worker drains), write the chunk's log line, and hand a drained chunk back to the queue.
 */

/** A chunk run's figures, for its log line. */
interface ChunkTally extends GroupFigures {
  devices: number;
}

/** How a chunk run ended: nothing left to claim, or handed back by a draining worker. */
type ChunkOutcome = 'done' | 'handed-back';

/**
 * Local steps only: one transaction per group of this many devices (a local chunk holds
 * LOCAL_CHUNK_SIZE). Big enough that a group's two statements cost little next to its rows; small
 * enough that a cancel takes effect within a second and a transaction's locks stay short.
 */
const LOCAL_GROUP_SIZE = 5_000;

export interface ChunkRunnerDeps {
  db: Database;
  queue: JobQueue;
  chunkLock: SessionLockTaker;
  workerName: string;
  /** Rev.io calls in flight per chunk: an external group holds four times as many devices. */
  revConcurrency: number;
  today: () => string;
  countDevices: CountDevices;
  /** True once the worker drains: a running chunk claims no more devices. */
  draining: () => boolean;
  finishIfDone: (bulkChangeId: number) => Promise<void>;
  groups: ReturnType<typeof createGroupRunner>;
  undo: ReturnType<typeof createUndoRunner>;
}

export function createChunkRunner(deps: ChunkRunnerDeps) {
  const { db, today, countDevices, groups, undo } = deps;

  /**
   * A chunk goes group by group: a claimed group is finished through all its steps, and a cancel
   * takes effect between groups (it cancels what is still PENDING). With an external step, groups
   * are small, so a cancel or a progress bar moves within seconds; purely local work (the AMOP
   * path, set-based SQL) goes LOCAL_GROUP_SIZE devices a transaction, each written once.
   */
  async function runChunk(
    bulkChangeId: number,
    chunk: number,
    lock: SessionLock,
    tally: ChunkTally,
    log: Logger,
  ): Promise<ChunkOutcome> {
    const bc = await repo.loadBulkChange(db, bulkChangeId);
    if (!bc) return 'done';
    const options = bc.options as AssignmentOptions;
    const ctx = contextOf(bc, deps.workerName);
    // An undo may disconnect in Rev.io and change carrier plans back: small groups, as for creates.
    const undoing = isUndo(bc.options);
    const local = !undoing && isLocalOnly(options);
    const groupSize = local ? LOCAL_GROUP_SIZE : deps.revConcurrency * 4;
    for (;;) {
      // Without the lock (its connection lost, e.g. a database restart) another worker may take the
      // chunk over: claim nothing more, and let the queue retry this run.
      if (!lock.held()) {
        throw new RetryableError(`lost the lock of chunk ${chunk} of bulk change ${bulkChangeId}`, {
          system: 'worker',
        });
      }
      // Checked between groups only: a device is the unit, and a claimed group runs to its end.
      if (deps.draining()) return 'handed-back';
      if (local) {
        const devices = await runLocalGroup({ db, today, countDevices }, ctx, options, chunk, groupSize);
        if (devices === 0) break;
        tally.devices += devices;
        tally.ok += devices;
        continue;
      }
      const group = await repo.claimGroup(db, bulkChangeId, chunk, groupSize);
      if (group.length === 0) break;
      const figures = undoing
        ? await undo.runGroup(bc, ctx, group, (c, alive, step, result) =>
            groups.commitStep(c, alive, step, result, log),
          )
        : await groups.runGroup(bc, ctx, options, group, log);
      tally.devices += group.length;
      tally.ok += figures.ok;
      tally.waiting += figures.waiting;
      tally.failed += figures.failed;
    }
    await deps.finishIfDone(bulkChangeId);
    return 'done';
  }

  /** Processes one chunk; throws RetryableError when another live worker holds it. */
  async function processChunk(bulkChangeId: number, chunk: number, log: Logger): Promise<void> {
    const started = performance.now();
    const tally: ChunkTally = { devices: 0, ok: 0, waiting: 0, failed: 0 };
    const ms = () => Math.round(performance.now() - started);
    let outcome: ChunkOutcome;
    try {
      outcome = await withChunkLock(deps.chunkLock, bulkChangeId, chunk, (lock) =>
        runChunk(bulkChangeId, chunk, lock, tally, log),
      );
    } catch (error) {
      // The queue retries the chunk; its work so far is recorded and not done again.
      const reason = error instanceof Error ? error.message : String(error);
      log.warn({ ...tally, ms: ms(), reason }, 'chunk attempt failed');
      throw error;
    }
    log.info({ ...tally, ms: ms(), outcome }, 'chunk finished');
    // After the lock is released, so the next worker can take the chunk at once; ahead of chunks
    // not yet begun (pg-boss fetches by priority, then age), so a started chunk is not left half
    // done behind the whole queue. The job in hand then completes; should this process die
    // first, the sweep hands that job back as well, and the second run finds only what is still
    // open (claimed devices and steps are recorded).
    if (outcome === 'handed-back') {
      await deps.queue.enqueue(db, 'bulk-change.process-chunk', { bulkChangeId, chunk }, { priority: 1 });
    }
  }

  return { processChunk };
}
