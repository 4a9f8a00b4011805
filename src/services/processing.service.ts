import type { ThingSpaceClient } from '../clients/thingspace.client.ts';
import type { Database } from '../db/database.ts';
import * as ownershipRepo from '../db/repositories/ownership.repository.ts';
import * as repo from '../db/repositories/processing.repository.ts';
import * as carrierWaits from '../db/repositories/carrier-wait.repository.ts';
import * as openWork from '../db/repositories/open-work.repository.ts';
import type { SessionLock, SessionLockTaker } from '../db/session-lock.ts';
import type {
  BulkChangeContextRow,
  ChunkContext,
  WorkItem,
} from '../db/repositories/processing.repository.ts';
import { RetryableError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { AssignmentOptions } from './assignment/request.ts';
import { runCarrierStep, STEP as CARRIER_STEP, type CarrierStepDeps } from './processing/carrier.step.ts';
import { createCarrierResults, type CarrierResult } from './processing/carrier-results.ts';
import { runRevServiceStep, type RevStepDeps } from './processing/rev-service.step.ts';
import {
  applyCustomerPlanStep,
  CUSTOMER_RATE_PLAN,
  isLocalOnly,
  LOG_OWNERSHIP_AMOP,
  LOG_OWNERSHIP_REV,
  OWNERSHIP,
  runLocalGroup,
} from './processing/local-steps.ts';
import { contextOf, logOf, type StepResult } from './processing/step-kit.ts';
import { createUndoRunner, isUndo } from './processing/undo.step.ts';
import type { IntegrationAccounts } from './integration-accounts.ts';
import { silentLogger, type Logger } from '../logger.ts';

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

/** A chunk run's figures, for its log line. */
interface ChunkTally {
  devices: number;
  ok: number;
  waiting: number;
  failed: number;
}

const LOG_GAVE_UP = 'Processing: gave up';
/** A fetched chunk job takes its lock within milliseconds; one without a lock after this is orphaned. */
const ABANDONED_GRACE_SECONDS = 10;
/**
 * Local steps only: one transaction per group of this many devices (a local chunk holds
 * LOCAL_CHUNK_SIZE). Big enough that a group's two statements cost little next to its rows; small
 * enough that a cancel takes effect within a second and a transaction's locks stay short.
 */
const LOCAL_GROUP_SIZE = 5_000;

/** How a chunk run ended: nothing left to claim, or handed back by a draining worker. */
type ChunkOutcome = 'done' | 'handed-back';

export function createProcessingService(deps: ProcessingDeps): ProcessingService {
  const { db } = deps;
  let draining = false;
  const today = deps.today ?? (() => new Date().toISOString().slice(0, 10));

  const logger = deps.logger ?? silentLogger;
  const countDevices = deps.countDevices ?? (() => undefined);

  /** Commits one step's outcome, and returns the work orders that go on to the next step. */
  async function commitStep(
    ctx: ChunkContext,
    alive: WorkItem[],
    step: string,
    result: StepResult,
    log: Logger,
  ): Promise<WorkItem[]> {
    await db.transaction().execute(async (trx) => {
      await result.record?.(trx);
      await repo.insertLogs(trx, ctx, result.logs);
      await repo.failWorkOrders(trx, result.failures);
      await repo.markStepDone(trx, result.succeeded, step);
    });
    countDevices(step, 'ok', result.succeeded.length);
    countDevices(step, 'failed', result.failures.length);
    // The message is the work order's own, redacted when it was made (it is shown in the API too).
    for (const f of result.failures) {
      log.warn(
        { workOrderId: f.id, step, errorCategory: f.category, retryable: f.retryable, reason: f.message },
        'work order failed',
      );
    }
    const failed = new Set(result.failures.map((f) => f.id));
    const done = new Set(result.succeeded);
    return alive
      .filter((item) => !failed.has(item.id))
      .map((item) => (done.has(item.id) ? { ...item, stepsDone: [...item.stepsDone, step] } : item));
  }

  async function finishIfDone(bulkChangeId: number): Promise<void> {
    // Counted after our own commit: of two chunks finishing together, at least the later one sees
    // zero (both may; the finish step is idempotent).
    if (!(await repo.hasOpenWorkOrders(db, bulkChangeId))) {
      await deps.queue.enqueue(db, 'bulk-change.finish', { bulkChangeId });
    }
  }

  const carrierResults = createCarrierResults({
    db,
    queue: deps.queue,
    confirmMinutes: deps.carrierConfirmMinutes,
    thingspace: deps.thingspace,
    accounts: deps.accounts,
    policy: deps.rev.policy,
    finishIfDone,
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
    const ctx = contextOf(bc, deps.workerName ?? 'simbind-worker');
    // An undo may disconnect in Rev.io and change carrier plans back: small groups, as for creates.
    const undoing = isUndo(bc.options);
    const local = !undoing && isLocalOnly(options);
    const groupSize = local ? LOCAL_GROUP_SIZE : deps.rev.concurrency * 4;
    for (;;) {
      // Without the lock (its connection lost, e.g. a database restart) another worker may take the
      // chunk over: claim nothing more, and let the queue retry this run.
      if (!lock.held()) {
        throw new RetryableError(`lost the lock of chunk ${chunk} of bulk change ${bulkChangeId}`, {
          system: 'worker',
        });
      }
      // Checked between groups only: a device is the unit, and a claimed group runs to its end.
      if (draining) return 'handed-back';
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
            commitStep(c, alive, step, result, log),
          )
        : await runGroup(bc, ctx, options, group, log);
      tally.devices += group.length;
      tally.ok += figures.ok;
      tally.waiting += figures.waiting;
      tally.failed += figures.failed;
    }
    await finishIfDone(bulkChangeId);
    return 'done';
  }

  async function runGroup(
    bc: BulkChangeContextRow,
    ctx: ChunkContext,
    options: AssignmentOptions,
    items: WorkItem[],
    log: Logger,
  ): Promise<Omit<ChunkTally, 'devices'>> {
    let alive = items;
    /** Devices the Rev.io step handed over and that ended PROCESSED through their own run. */
    let handedOverOk = 0;

    if (options.createRevService && alive.some((item) => !item.stepsDone.includes('rev_service'))) {
      // Without a carrier step a device's later steps are all local: the Rev.io step hands over the
      // devices it has finished (a batch at least every second) and each batch goes through the
      // rest of this group's steps at once, so progress moves per device, not per group (issue 15).
      const handOver = options.addCarrierRatePlan
        ? undefined
        : async (part: StepResult, batch: WorkItem[]) => {
            const next = await commitStep(ctx, batch, 'rev_service', part, log);
            handedOverOk += (await runGroup(bc, ctx, options, next, log)).ok;
          };
      const result = await runRevServiceStep({ ...deps.rev, db }, ctx, options, alive, handOver);
      const kept = alive.filter((item) => !result.handedOver.has(item.id));
      alive = await commitStep(ctx, kept, 'rev_service', result, log);
    }

    const ownership = alive.filter((item) => !item.stepsDone.includes(OWNERSHIP));
    await db.transaction().execute(async (trx) => {
      await ownershipRepo.assignOwnership(
        trx,
        ctx,
        ownership.map((item) => item.id),
        options.createRevService,
      );
      const description = options.createRevService ? LOG_OWNERSHIP_REV : LOG_OWNERSHIP_AMOP;
      await repo.insertLogs(
        trx,
        ctx,
        ownership.map((item) => logOf(item, description, undefined)),
      );
      await repo.markStepDone(
        trx,
        ownership.map((item) => item.id),
        OWNERSHIP,
      );
    });
    countDevices(OWNERSHIP, 'ok', ownership.length);

    if (options.addCustomerRatePlan && options.customerRatePlan) {
      const plan = options.customerRatePlan;
      const todo = alive.filter((item) => !item.stepsDone.includes(CUSTOMER_RATE_PLAN));
      await db.transaction().execute(async (trx) => {
        await applyCustomerPlanStep(trx, ctx, todo, plan, today());
        await repo.markStepDone(
          trx,
          todo.map((item) => item.id),
          CUSTOMER_RATE_PLAN,
        );
      });
      countDevices(CUSTOMER_RATE_PLAN, 'ok', todo.length);
    }

    let waiting: { id: number; requestId: string }[] = [];
    if (options.addCarrierRatePlan && options.carrierRatePlan) {
      const plan = options.carrierRatePlan;
      const result = await runCarrierStep(
        { ...deps.carrier, db },
        { integration: bc.integration, credentialsId: bc.credentials_id },
        plan,
        alive,
        today(),
      );
      const succeeded = new Set(result.succeeded);
      const confirmed = alive.filter((item) => succeeded.has(item.id));
      const credentialsId = bc.credentials_id;
      // The device row and its history, and the waits for ThingSpace's confirmations, are written
      // with the step's log: a kill in between can neither record a plan twice nor leave a request
      // logged without its wait (which a rerun would send again).
      result.record = async (trx) => {
        await repo.applyCarrierPlan(
          trx,
          ctx,
          confirmed,
          { ratePlan: plan.ratePlan, communicationPlan: plan.communicationPlan ?? null },
          today(),
        );
        // Requests were sent only when the service provider has credentials (the step fails otherwise).
        if (credentialsId !== null) {
          await carrierWaits.markWaitingForCarrier(
            trx,
            result.waiting,
            credentialsId,
            deps.carrierConfirmMinutes,
          );
          // The callback usually answers first; the poll is the safety net (one queued per bulk
          // change), committed with the waits so that none is left without an exit.
          if (result.waiting.length > 0) await carrierResults.schedulePoll(bc.id, 30, 0, trx);
        }
      };
      alive = await commitStep(ctx, alive, CARRIER_STEP, result, log);
      countDevices(CARRIER_STEP, 'waiting', result.waiting.length);
      waiting = result.waiting;
      if (waiting.length > 0 && bc.credentials_id !== null) {
        // Results that arrived before the wait was recorded are in the account's inbox already.
        const early = await carrierWaits.findCarrierResults(
          db,
          bc.credentials_id,
          waiting.map((w) => w.requestId),
        );
        await carrierResults.applyKept(bc.credentials_id, early);
      }
    }

    const waitingIds = new Set(waiting.map((w) => w.id));
    const done = alive.filter((item) => !waitingIds.has(item.id)).map((item) => item.id);
    await repo.markProcessed(db, done);
    countDevices('complete', 'ok', done.length);
    const ok = done.length + handedOverOk;
    return { ok, waiting: waiting.length, failed: items.length - ok - waiting.length };
  }

  /**
   * Runs `fn` holding the chunk's session lock (its own connection, outside the pool): if this
   * worker dies, the server releases the lock, so another run can take over.
   */
  async function withChunkLock<T>(
    bulkChangeId: number,
    chunk: number,
    fn: (lock: SessionLock) => Promise<T>,
  ): Promise<T> {
    const lock = await deps.chunkLock(bulkChangeId, chunk);
    if (!lock) {
      throw new RetryableError(`chunk ${chunk} of bulk change ${bulkChangeId} is being processed elsewhere`, {
        system: 'worker',
      });
    }
    try {
      return await fn(lock);
    } finally {
      await lock.release();
    }
  }

  return {
    async processChunk(bulkChangeId, chunk, log = logger.child({ bulkChangeId, chunk })) {
      const started = performance.now();
      const tally: ChunkTally = { devices: 0, ok: 0, waiting: 0, failed: 0 };
      const ms = () => Math.round(performance.now() - started);
      let outcome: ChunkOutcome;
      try {
        outcome = await withChunkLock(bulkChangeId, chunk, (lock) =>
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
    },

    drain() {
      draining = true;
    },

    async abandonChunk(bulkChangeId, chunk, lastError) {
      const bc = await repo.loadBulkChange(db, bulkChangeId);
      if (!bc) return 0;
      const ctx = contextOf(bc, deps.workerName ?? 'simbind-worker');
      const message = `Processing gave up after the queue's last retry: ${lastError}`;
      const ended = await withChunkLock(bulkChangeId, chunk, () =>
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

    async resumeAbandonedChunks() {
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

    completeCarrierRequests: (credentialsId, results, via) =>
      carrierResults.complete(credentialsId, results, via),
    pollCarrier: (bulkChangeId, round) => carrierResults.poll(bulkChangeId, round),
  };
}
