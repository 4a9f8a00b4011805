import type { Logger } from '../logger.ts';
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
  services: { processing: ProcessingService; lifecycle: LifecycleService; logger: Logger },
  concurrency: number,
): Promise<void> {
  // Every line a chunk run writes says which bulk change, chunk and job it is about.
  await queue.work<ChunkJob>('bulk-change.process-chunk', concurrency, async ({ id, data }) => {
    const { bulkChangeId, chunk } = data;
    const log = services.logger.child({ bulkChangeId, chunk, jobId: id });
    await services.processing.processChunk(bulkChangeId, chunk, log);
  });
  await queue.work<BulkChangeJob>('bulk-change.finish', 1, async ({ data }) => {
    await services.lifecycle.finish(data.bulkChangeId);
  });
  await queue.work<CarrierPollJob>('carrier.poll', 1, async ({ data }) =>
    services.processing.pollCarrier(data.bulkChangeId, data.round ?? 0),
  );
  await queue.work<ChunkJob>('bulk-change.chunk-failed', 1, async ({ id, data, output }) => {
    const { bulkChangeId, chunk } = data;
    const reason = lastErrorOf(output);
    const ended = await services.processing.abandonChunk(bulkChangeId, chunk, reason);
    services.logger.warn(
      { bulkChangeId, chunk, jobId: id, ended, reason },
      'chunk abandoned after its last retry',
    );
  });
}

/** pg-boss keeps a failed job's error as its output (serialised: message, stack …). */
function lastErrorOf(output: unknown): string {
  const message = (output as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' && message ? message : 'no error recorded';
}
