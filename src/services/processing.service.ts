import type { ThingSpaceClient } from '../clients/thingspace.client.ts';
import type { Database } from '../db/database.ts';
import * as repo from '../db/repositories/processing.repository.ts';
import type { ChunkContext, WorkItem } from '../db/repositories/processing.repository.ts';
import { RetryableError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { AssignmentOptions } from './assignment/request.ts';
import {
  LOG_CARRIER,
  runCarrierStep,
  STEP as CARRIER_STEP,
  type CarrierStepDeps,
} from './processing/carrier.step.ts';
import { runRevServiceStep, type RevStepDeps } from './processing/rev-service.step.ts';
import { withRetries } from './processing/retry-policy.ts';
import { logOf, mapWithConcurrency, type StepResult } from './processing/step-kit.ts';
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

export interface CarrierResult {
  requestId: string;
  status: 'Success' | 'Failed';
  faultString?: string;
}

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
        await this_.completeCarrierRequests(early, 'callback');
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

    async completeCarrierRequests(results, via) {
      if (results.length === 0) return 0;
      await repo.storeCarrierResults(db, results);
      const byRequest = new Map(results.map((r) => [r.requestId, r]));
      const touched = await db.transaction().execute(async (trx) => {
        const claimed = await repo.claimWaitingByRequestIds(
          trx,
          results.map((r) => r.requestId),
        );
        const bulkChangeIds = [...new Set(claimed.map((w) => w.bulkChangeId))];
        for (const bulkChangeId of bulkChangeIds) {
          const bc = await repo.loadBulkChange(trx, bulkChangeId);
          if (!bc) continue;
          const plan = (bc.options as AssignmentOptions).carrierRatePlan;
          const ctx = contextOf(bc, `thingspace-${via}`);
          const mine = claimed.filter((w) => w.bulkChangeId === bulkChangeId);
          const ok = mine.filter((w) => byRequest.get(w.requestId)?.status === 'Success');
          const failed = mine.filter((w) => byRequest.get(w.requestId)?.status === 'Failed');
          if (plan) {
            await repo.applyCarrierPlan(
              trx,
              ctx,
              ok.map((w) => w.item.deviceId),
              { ratePlan: plan.ratePlan, communicationPlan: plan.communicationPlan ?? null },
            );
          }
          await repo.markStepDone(
            trx,
            ok.map((w) => w.item.id),
            CARRIER_STEP,
          );
          await repo.markProcessed(
            trx,
            ok.map((w) => w.item.id),
          );
          await repo.failWorkOrders(
            trx,
            failed.map((w) => ({
              id: w.item.id,
              category: 'integration',
              message: `ThingSpace plan change failed: ${byRequest.get(w.requestId)?.faultString ?? 'no reason given'}`,
              retryable: false,
            })),
          );
          await repo.insertLogs(trx, ctx, [
            ...ok.map((w) => ({
              ...logOf(w.item, `${LOG_CARRIER} (confirmed)`, undefined),
              responseStatus: 'Success',
              responseText: w.requestId,
            })),
            ...failed.map((w) => ({
              ...logOf(w.item, `${LOG_CARRIER} (confirmed)`, undefined, {
                message: byRequest.get(w.requestId)?.faultString ?? 'Failed',
              }),
              responseStatus: 'Failed',
              responseText: w.requestId,
            })),
          ]);
        }
        return { claimed: claimed.length, bulkChangeIds };
      });
      for (const bulkChangeId of touched.bulkChangeIds) await finishIfDone(bulkChangeId);
      return touched.claimed;
    },

    async pollCarrier(bulkChangeId) {
      const bc = await repo.loadBulkChange(db, bulkChangeId);
      if (!bc || bc.credentials_id === null || bc.integration !== 'thingspace') return;
      const waiting = await repo.findWaitingInBulkChange(db, bulkChangeId);
      if (waiting.length === 0) return;
      const creds = await deps.accounts.thingspace(bc.credentials_id);
      const requestIds = [...new Set(waiting.map((w) => w.requestId))];
      const answers = await mapWithConcurrency(requestIds, 4, async (requestId) => {
        const outcome = await withRetries(deps.rev.policy, () =>
          deps.thingspace.getRequestStatus(creds, requestId),
        );
        return outcome.ok ? { requestId, ...outcome.value.value } : undefined;
      });
      const settled = answers.filter(
        (a): a is NonNullable<typeof a> & { status: 'Success' | 'Failed' } =>
          a !== undefined && a.status !== 'Pending',
      );
      await this_.completeCarrierRequests(
        settled.map((a) => ({ requestId: a.requestId, status: a.status, faultString: a.faultString })),
        'poll',
      );
      if (settled.length < requestIds.length) {
        throw new RetryableError(`${requestIds.length - settled.length} ThingSpace requests still pending`, {
          system: 'thingspace',
        });
      }
    },
  };
  return this_;
}

function contextOf(bc: repo.BulkChangeContextRow, processedBy: string): ChunkContext {
  return {
    bulkChangeId: bc.id,
    tenantId: bc.tenant_id,
    portalType: bc.portal_type,
    customerId: bc.customer_id,
    createdBy: bc.created_by,
    processedBy,
  };
}
