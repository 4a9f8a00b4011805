import type { LifecycleService } from '../services/lifecycle.service.ts';
import type { ProcessingService } from '../services/processing.service.ts';
import type { JobQueue } from './queue.ts';

/**
 * The bulk-change tasks: thin adapters from a queue job to one service call. A throw fails the
 * attempt; pg-boss retries with backoff, and an attempt that outlives `expireInSeconds` (its worker
 * died) is retried by another worker.
 */

export interface ChunkJob {
  bulkChangeId: number;
  chunk: number;
}

export interface BulkChangeJob {
  bulkChangeId: number;
}

export interface CarrierPollJob {
  bulkChangeId: number;
  /** How many polls came before (older jobs have none): the next one waits twice as long. */
  round?: number;
}

export async function registerBulkChangeTasks(
  queue: JobQueue,
  services: { processing: ProcessingService; lifecycle: LifecycleService },
  concurrency: number,
): Promise<void> {
  await queue.work<ChunkJob>('bulk-change.process-chunk', concurrency, async ({ data }) =>
    services.processing.processChunk(data.bulkChangeId, data.chunk),
  );
  await queue.work<BulkChangeJob>('bulk-change.finish', 1, async ({ data }) => {
    await services.lifecycle.finish(data.bulkChangeId);
  });
  await queue.work<CarrierPollJob>('carrier.poll', 1, async ({ data }) =>
    services.processing.pollCarrier(data.bulkChangeId, data.round ?? 0),
  );
  await queue.work<ChunkJob>('bulk-change.chunk-failed', 1, async ({ data, output }) => {
    await services.processing.abandonChunk(data.bulkChangeId, data.chunk, lastErrorOf(output));
  });
}

/** pg-boss keeps a failed job's error as its output (serialised: message, stack …). */
function lastErrorOf(output: unknown): string {
  const message = (output as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' && message ? message : 'no error recorded';
}
