import type { SyncService } from '../services/sync.service.ts';
import type { JobQueue } from './queue.ts';

/**
 * `sync.run`: one attempt of a sync run (a throw is retried with the queue's backoff);
 * `sync.failed`: its last retry failed, the run ends FAILED; `sync.tick`: hourly upkeep.
 */

export interface SyncRunJob {
  runId: number;
}

/** Minute 23 of every hour: clear of the hour, where other schedules cluster. */
export const SYNC_TICK_CRON = '23 * * * *';

function runIdOf(job: { id: string; data: Partial<SyncRunJob> | null }): number {
  const runId = job.data?.runId;
  if (typeof runId !== 'number' || !Number.isSafeInteger(runId) || runId <= 0) {
    throw new Error(`sync job ${job.id}: invalid runId ${JSON.stringify(runId)}`);
  }
  return runId;
}

export async function registerSyncTasks(queue: JobQueue, sync: SyncService): Promise<void> {
  // One run at a time per worker: a run is long, and its partner's rate limit is shared anyway.
  await queue.work<Partial<SyncRunJob>>('sync.run', 1, (job) => sync.run(runIdOf(job)));
  await queue.work<Partial<SyncRunJob>>('sync.failed', 1, async (job) => {
    const message = (job.output as { message?: unknown } | null | undefined)?.message;
    await sync.giveUp(runIdOf(job), typeof message === 'string' && message ? message : 'no error recorded');
  });
  await queue.work('sync.tick', 1, async () => {
    await sync.tick();
  });
  await queue.schedule('sync.tick', SYNC_TICK_CRON, {});
}
