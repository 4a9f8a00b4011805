import type { ThingSpaceClient } from '../clients/thingspace.client.ts';
import type { Database } from '../db/database.ts';
import * as repo from '../db/repositories/processing.repository.ts';
import type { ChunkContext, WorkItem } from '../db/repositories/processing.repository.ts';
import { RetryableError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { AssignmentOptions } from './assignment/request.ts';
import { runCarrierStep, STEP as CARRIER_STEP, type CarrierStepDeps } from './processing/carrier.step.ts';
import { createCarrierResults, type CarrierResult } from './processing/carrier-results.ts';
import { runRevServiceStep, type RevStepDeps } from './processing/rev-service.step.ts';
import { contextOf, logOf, type StepResult } from './processing/step-kit.ts';
import type { IntegrationAccounts } from './integration-accounts.ts';

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
  processChunk(bulkChangeId: number, chunk: number): Promise<void>;
  /**
   * Applies carrier results to the work orders waiting for them; results for requests no work order
   * is known to wait for yet are kept, and applied when the wait is recorded.
   */
  completeCarrierRequests(results: CarrierResult[], via: 'callback' | 'poll'): Promise<number>;
  /** Asks ThingSpace about the bulk change's waiting requests; throws RetryableError while some are pending. */
  pollCarrier(bulkChangeId: number): Promise<void>;
}

export type { CarrierResult } from './processing/carrier-results.ts';

export interface ProcessingDeps {
  db: Database;
  queue: JobQueue;
  rev: Omit<RevStepDeps, 'db'>;
  carrier: Omit<CarrierStepDeps, 'db'>;
  thingspace: ThingSpaceClient;
  accounts: IntegrationAccounts;
  /** Today as yyyy-MM-dd; tests pin it. */
  today?: () => string;
  workerName?: string;
}

const LOG_OWNERSHIP_REV = 'Create Rev.io Service: Update AMOP';
const LOG_OWNERSHIP_AMOP = 'AMOP Customer Assignment';
const LOG_PLAN_NOW = 'AMOP Customer Rate Plan/Rate Pool Assignment';
const LOG_PLAN_LATER = 'Associate Customer: Update AMOP Customer Rate Plan';

export function createProcessingService(deps: ProcessingDeps): ProcessingService {
  const { db } = deps;
  const today = deps.today ?? (() => new Date().toISOString().slice(0, 10));

  /** Commits one step's outcome, and returns the work orders that go on to the next step. */
  async function commitStep(
    ctx: ChunkContext,
    alive: WorkItem[],
    step: string,
    result: StepResult,
  ): Promise<WorkItem[]> {
    await db.transaction().execute(async (trx) => {
      await repo.insertLogs(trx, ctx, result.logs);
      await repo.failWorkOrders(trx, result.failures);
      await repo.markStepDone(trx, result.succeeded, step);
    });
    const failed = new Set(result.failures.map((f) => f.id));
    const done = new Set(result.succeeded);
    return alive
      .filter((item) => !failed.has(item.id))
      .map((item) => (done.has(item.id) ? { ...item, stepsDone: [...item.stepsDone, step] } : item));
  }

  /** Between steps: a cancelled bulk change stops here for the devices still in flight. */
  async function stopIfCancelled(bulkChangeId: number, alive: WorkItem[]): Promise<boolean> {
    if (!(await repo.isCancelRequested(db, bulkChangeId))) return false;
    await repo.cancelRemaining(
      db,
      alive.map((item) => item.id),
    );
    return true;
  }

  async function finishIfDone(bulkChangeId: number): Promise<void> {
    // Counted after our own commit: of two chunks finishing together, at least the later one sees
    // zero (both may; the finish step is idempotent).
    if ((await repo.countOpenWorkOrders(db, bulkChangeId)) === 0) {
      await deps.queue.enqueue(db, 'bulk-change.finish', { bulkChangeId });
    }
  }

  const carrierResults = createCarrierResults({
    db,
    thingspace: deps.thingspace,
    accounts: deps.accounts,
    policy: deps.rev.policy,
    finishIfDone,
  });

  async function runChunk(bulkChangeId: number, chunk: number): Promise<void> {
    const bc = await repo.loadBulkChange(db, bulkChangeId);
    if (!bc) return;
    const items = await repo.claimChunk(db, bulkChangeId, chunk);
    if (items.length === 0) return finishIfDone(bulkChangeId);
    const options = bc.options as AssignmentOptions;
    const ctx = contextOf(bc, deps.workerName ?? 'simbind-worker');
    let alive = items;

    if (options.createRevService) {
      const result = await runRevServiceStep({ ...deps.rev, db }, ctx, options, alive);
      alive = await commitStep(ctx, alive, 'rev_service', result);
      if (await stopIfCancelled(bulkChangeId, alive)) return finishIfDone(bulkChangeId);
    }

    const ownership = alive.filter((item) => !item.stepsDone.includes('ownership'));
    await db.transaction().execute(async (trx) => {
      await repo.assignOwnership(
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
        'ownership',
      );
    });
    if (await stopIfCancelled(bulkChangeId, alive)) return finishIfDone(bulkChangeId);

    if (options.addCustomerRatePlan && options.customerRatePlan) {
      const todo = alive.filter((item) => !item.stepsDone.includes('customer_rate_plan'));
      await db.transaction().execute(async (trx) => {
        const { appliedIds, scheduledIds } = await repo.applyCustomerRatePlan(
          trx,
          ctx,
          todo.map((item) => item.id),
          {
            ratePlanId: options.customerRatePlan?.ratePlanId ?? null,
            ratePoolId: options.customerRatePlan?.ratePoolId ?? null,
          },
          today(),
        );
        const applied = new Set(appliedIds);
        const scheduled = new Set(scheduledIds);
        await repo.insertLogs(trx, ctx, [
          ...todo.filter((i) => applied.has(i.id)).map((i) => logOf(i, LOG_PLAN_NOW, undefined)),
          ...todo
            .filter((i) => scheduled.has(i.id))
            .map((i) => ({
              ...logOf(i, LOG_PLAN_LATER, undefined),
              responseText: `scheduled for ${i.request.effectiveDate}`,
            })),
        ]);
        // A device without an ownership row cannot hold a plan; ownership ran just before, so every
        // device is either applied or scheduled.
        await repo.markStepDone(
          trx,
          todo.map((item) => item.id),
          'customer_rate_plan',
        );
      });
      if (await stopIfCancelled(bulkChangeId, alive)) return finishIfDone(bulkChangeId);
    }

    let waiting: { id: number; requestId: string }[] = [];
    if (options.addCarrierRatePlan && options.carrierRatePlan) {
      const plan = options.carrierRatePlan;
      const result = await runCarrierStep(
        { ...deps.carrier, db },
        { integration: bc.integration, credentialsId: bc.credentials_id },
        plan,
        alive,
      );
      const succeeded = new Set(result.succeeded);
      await repo.applyCarrierPlan(
        db,
        ctx,
        alive.filter((item) => succeeded.has(item.id)).map((item) => item.deviceId),
        { ratePlan: plan.ratePlan, communicationPlan: plan.communicationPlan ?? null },
      );
      alive = await commitStep(ctx, alive, CARRIER_STEP, result);
      waiting = result.waiting;
      if (waiting.length > 0) {
        await repo.markWaitingForCarrier(db, waiting);
        // Results that arrived before the wait was recorded are in the inbox already.
        const early = await repo.findCarrierResults(
          db,
          waiting.map((w) => w.requestId),
        );
        await carrierResults.complete(early, 'callback');
        // The callback usually answers first; the poll is the safety net.
        await deps.queue.enqueue(
          db,
          'carrier.poll',
          { bulkChangeId },
          { startAfter: 30, singletonKey: `poll-${bulkChangeId}` },
        );
      }
    }

    const waitingIds = new Set(waiting.map((w) => w.id));
    await repo.markProcessed(
      db,
      alive.filter((item) => !waitingIds.has(item.id)).map((item) => item.id),
    );
    await finishIfDone(bulkChangeId);
  }

  const this_: ProcessingService = {
    async processChunk(bulkChangeId, chunk) {
      // A session lock held for the whole run on its own connection: if this worker dies, the
      // connection closes and PostgreSQL releases the lock, so the retried job can take over.
      await db.connection().execute(async (conn) => {
        if (!(await repo.tryLockChunk(conn, bulkChangeId, chunk))) {
          throw new RetryableError(
            `chunk ${chunk} of bulk change ${bulkChangeId} is being processed elsewhere`,
            {
              system: 'worker',
            },
          );
        }
        try {
          await runChunk(bulkChangeId, chunk);
        } finally {
          await repo.unlockChunk(conn, bulkChangeId, chunk);
        }
      });
    },

    completeCarrierRequests: (results, via) => carrierResults.complete(results, via),
    pollCarrier: (bulkChangeId) => carrierResults.poll(bulkChangeId),
  };
  return this_;
}
