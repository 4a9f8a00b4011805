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
  await queue.work<BulkChangeJob>('carrier.poll', 1, async ({ data }) =>
    services.processing.pollCarrier(data.bulkChangeId),
  );
}
