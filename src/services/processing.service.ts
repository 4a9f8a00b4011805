import type { ThingSpaceClient } from '../clients/thingspace.client.ts';
import type { Database } from '../db/database.ts';
import type { SessionLockTaker } from '../db/session-lock.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { silentLogger, type Logger } from '../logger.ts';
import type { IntegrationAccounts } from './integration-accounts.ts';
import { createCarrierResults, type CarrierResult } from './processing/carrier-results.ts';
import type { CarrierStepDeps } from './processing/carrier.step.ts';
import { createChunkExits } from './processing/chunk-exits.ts';
import { createChunkRunner } from './processing/chunk-runner.ts';
import { createGroupRunner } from './processing/group-runner.ts';
import type { RevStepDeps } from './processing/rev-service.step.ts';
import { createUndoRunner } from './processing/undo.step.ts';

/**
 * The worker's side of a customer assignment: one chunk of work orders at a time, step by step
 * (Rev.io service → ownership → customer rate plan → carrier rate plan), each device on its own
 * path: a device whose billing step failed never gets the later steps (the older system ran the
 * rate-plan procedure for the whole batch, failed devices included).
 *
 * Each step's outcome (log entries, failures, steps done) is committed in one transaction, so a
 * worker killed at any instant leaves a state the next run resumes from: finished steps are
 * skipped, and external creates are guarded by the Rev step's intents.
 */

export interface ProcessingService {
  /** Processes one chunk; throws RetryableError when another live worker holds it. */
  processChunk(bulkChangeId: number, chunk: number, log?: Logger): Promise<void>;
  /**
   * Applies an account's carrier results to the work orders waiting for requests sent with that
   * account's credentials; results for requests no work order is known to wait for yet are kept
   * (per account), and applied when the wait is recorded.
   */
  completeCarrierRequests(
    credentialsId: number,
    results: CarrierResult[],
    via: 'callback' | 'poll',
  ): Promise<number>;
  /** Ends overdue carrier waits, asks ThingSpace about the others, and queues the next poll while any wait. */
  pollCarrier(bulkChangeId: number, round: number): Promise<void>;
  /**
   * The exit of a chunk job that ran out of retries: its open work orders end ERROR / internal
   * with the last error (retryable by "retry failed"). Throws RetryableError while a live worker
   * still holds the chunk.
   */
  abandonChunk(bulkChangeId: number, chunk: number, lastError: string): Promise<number>;
  /**
   * Hands the chunk jobs of dead workers (active in the queue, lock released) back to the queue at
   * once, so another worker resumes them within seconds rather than after the job's expiry.
   */
  resumeAbandonedChunks(): Promise<number>;
  /**
   * Graceful drain (SIGTERM): from now on a running chunk claims no more devices; it finishes the
   * group in hand through all its steps, releases its lock and hands the rest of the chunk back to
   * the queue as a new job, which another worker takes up. Not undone: the process is stopping.
   */
  drain(): void;
}

export type { CarrierResult } from './processing/carrier-results.ts';

export interface ProcessingDeps {
  db: Database;
  queue: JobQueue;
  rev: Omit<RevStepDeps, 'db'>;
  carrier: Omit<CarrierStepDeps, 'db'>;
  thingspace: ThingSpaceClient;
  accounts: IntegrationAccounts;
  /** Takes a chunk's session lock on a connection of its own. */
  chunkLock: SessionLockTaker;
  /** How long a device waits for a carrier's asynchronous confirmation (CARRIER_CONFIRM_MINUTES). */
  carrierConfirmMinutes: number;
  /** Today as yyyy-MM-dd; tests pin it. */
  today?: () => string;
  workerName?: string;
  /** The process's log: a line per finished chunk, one per failed work order (`workOrderId`). */
  logger?: Logger;
  /** Counts devices through each step, once per group (metrics.ts: simbind_devices_processed_total). */
  countDevices?: (step: string, outcome: 'ok' | 'failed' | 'waiting', count: number) => void;
}

/**
 * Wires the worker's parts (processing/): the chunk runner and the group runner it drives, the
 * undo runner, the chunk exits (finish, give-up, sweep) and the carriers' asynchronous results.
 */
export function createProcessingService(deps: ProcessingDeps): ProcessingService {
  const { db } = deps;
  let draining = false;
  const today = deps.today ?? (() => new Date().toISOString().slice(0, 10));
  const logger = deps.logger ?? silentLogger;
  const countDevices = deps.countDevices ?? (() => undefined);
  const workerName = deps.workerName ?? 'simbind-worker';

  const exits = createChunkExits({ db, queue: deps.queue, chunkLock: deps.chunkLock, workerName });

  const carrierResults = createCarrierResults({
    db,
    queue: deps.queue,
    confirmMinutes: deps.carrierConfirmMinutes,
    thingspace: deps.thingspace,
    accounts: deps.accounts,
    policy: deps.rev.policy,
    finishIfDone: exits.finishIfDone,
    today,
  });

  const undo = createUndoRunner({
    db,
    rev: deps.rev,
    carrier: deps.carrier,
    carrierConfirmMinutes: deps.carrierConfirmMinutes,
    today,
    carrierResults,
  });

  const groups = createGroupRunner({
    db,
    rev: deps.rev,
    carrier: deps.carrier,
    carrierConfirmMinutes: deps.carrierConfirmMinutes,
    today,
    countDevices,
    carrierResults,
  });

  const chunks = createChunkRunner({
    db,
    queue: deps.queue,
    chunkLock: deps.chunkLock,
    workerName,
    revConcurrency: deps.rev.concurrency,
    today,
    countDevices,
    draining: () => draining,
    finishIfDone: exits.finishIfDone,
    groups,
    undo,
  });

  return {
    processChunk: (bulkChangeId, chunk, log = logger.child({ bulkChangeId, chunk })) =>
      chunks.processChunk(bulkChangeId, chunk, log),
    drain() {
      draining = true;
    },
    abandonChunk: (bulkChangeId, chunk, lastError) => exits.abandonChunk(bulkChangeId, chunk, lastError),
    resumeAbandonedChunks: () => exits.resumeAbandonedChunks(),
    completeCarrierRequests: (credentialsId, results, via) =>
      carrierResults.complete(credentialsId, results, via),
    pollCarrier: (bulkChangeId, round) => carrierResults.poll(bulkChangeId, round),
  };
}
