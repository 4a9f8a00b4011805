import * as ownershipRepo from '../../db/repositories/ownership.repository.ts';
import * as repo from '../../db/repositories/processing.repository.ts';
import type {
  BulkChangeContextRow,
  ChunkContext,
  WorkItem,
} from '../../db/repositories/processing.repository.ts';
import type { Logger } from '../../logger.ts';
import type { AssignmentOptions } from '../assignment/request.ts';
import { runCarrierPlan, type CarrierPlanDeps } from './carrier-plan.ts';
import {
  applyCustomerPlanStep,
  CUSTOMER_RATE_PLAN,
  LOG_OWNERSHIP_AMOP,
  LOG_OWNERSHIP_REV,
  OWNERSHIP,
} from './local-steps.ts';
import { runRevServiceStep, type RevStepDeps } from './rev-service.step.ts';
import { logOf, type StepResult } from './step-kit.ts';

/**
 * One claimed group of an assignment through its steps (Rev.io service → ownership → customer
 * rate plan → carrier rate plan), each device on its own path: a device whose billing step failed
 * never gets the later steps. Each step's outcome is committed in one transaction, so a rerun
 * skips the steps a device has done.
 */

/** A group's figures, for its chunk's log line. */
export interface GroupFigures {
  ok: number;
  waiting: number;
  failed: number;
}

export interface GroupRunnerDeps extends CarrierPlanDeps {
  rev: Omit<RevStepDeps, 'db'>;
}

export function createGroupRunner(deps: GroupRunnerDeps) {
  const { db, countDevices, today } = deps;

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

  async function runGroup(
    bc: BulkChangeContextRow,
    ctx: ChunkContext,
    options: AssignmentOptions,
    items: WorkItem[],
    log: Logger,
  ): Promise<GroupFigures> {
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
      const inHand = alive;
      const carrier = await runCarrierPlan(deps, bc, ctx, options.carrierRatePlan, inHand, (step, result) =>
        commitStep(ctx, inHand, step, result, log),
      );
      alive = carrier.alive;
      waiting = carrier.waiting;
    }

    const waitingIds = new Set(waiting.map((w) => w.id));
    const done = alive.filter((item) => !waitingIds.has(item.id)).map((item) => item.id);
    await repo.markProcessed(db, done);
    countDevices('complete', 'ok', done.length);
    const ok = done.length + handedOverOk;
    return { ok, waiting: waiting.length, failed: items.length - ok - waiting.length };
  }

  return { commitStep, runGroup };
}
