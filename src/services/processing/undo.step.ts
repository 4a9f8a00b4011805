import type { Database } from '../../db/database.ts';
import * as carrierWaits from '../../db/repositories/carrier-wait.repository.ts';
import * as repo from '../../db/repositories/processing.repository.ts';
import type {
  BulkChangeContextRow,
  ChunkContext,
  WorkItem,
} from '../../db/repositories/processing.repository.ts';
import * as undos from '../../db/repositories/undo.repository.ts';
import type { AssignmentOptions } from '../assignment/request.ts';
import type { CarrierResults } from './carrier-results.ts';
import { runCarrierStep, STEP as CARRIER_STEP, type CarrierStepDeps } from './carrier.step.ts';
import type { RevStepDeps } from './rev-service.step.ts';
import { type StepResult, emptyResult, logOf } from './step-kit.ts';
import { disconnectUndoLines } from './undo-disconnect.step.ts';
import { STEP_CHECK, STEP_LOCAL, STEP_REV, undoRequestOf } from './undo-kit.ts';

export { applyConfirmedUndoPlans, isUndo, STEP_CHECK, STEP_LOCAL, STEP_REV } from './undo-kit.ts';

/**
 * The worker's side of an undo (issue 16), per device and in this order, each step committed with
 * its log entries like an assignment's: (1) the device was not changed since the original (else
 * ERROR / eligibility naming what changed it); (2) the Rev.io products and lines the original
 * created are disconnected, dated today; (3) ownership, site and customer plan go back to their
 * before-values and the original's scheduled changes that have not run are cancelled; (4) the
 * carrier plan goes back (Jasper at once, ThingSpace when it confirms). A device whose disconnect
 * failed is not restored locally: a device is the unit, and "retry failed" takes it up again.
 * Step (2) is undo-disconnect.step.ts; step names and the request's shape are undo-kit.ts.
 */

const LOG_CHECK = 'Undo: Check Device';
const LOG_LOCAL: Record<'ownership' | 'plan' | 'removed' | 'scheduled', string> = {
  ownership: 'Undo: Restore AMOP Ownership',
  removed: 'Undo: Remove AMOP Ownership (the device had no owner before)',
  plan: 'Undo: Restore AMOP Customer Rate Plan/Rate Pool',
  scheduled: 'Undo: Cancel Scheduled Plan Change',
};

export interface UndoRunnerDeps {
  db: Database;
  rev: Omit<RevStepDeps, 'db'>;
  carrier: Omit<CarrierStepDeps, 'db'>;
  carrierConfirmMinutes: number;
  today: () => string;
  carrierResults: Pick<CarrierResults, 'schedulePoll' | 'applyKept'>;
}

/** Commits one step's outcome (processing.service's), returning the work orders that go on. */
export type CommitStep = (
  ctx: ChunkContext,
  alive: WorkItem[],
  step: string,
  result: StepResult,
) => Promise<WorkItem[]>;

export function createUndoRunner(deps: UndoRunnerDeps) {
  const { db } = deps;

  async function check(bc: BulkChangeContextRow, originalId: number, items: WorkItem[]): Promise<StepResult> {
    const result = emptyResult();
    const todo = items.filter((item) => !item.stepsDone.includes(STEP_CHECK));
    if (todo.length === 0) return result;
    const candidates = await undos.findUndoCandidates(db, {
      originalId,
      undoId: bc.id,
      today: deps.today(),
      workOrderIds: todo.map((item) => undoRequestOf(item).originalWorkOrderId),
    });
    const conflictOf = new Map(candidates.map((c) => [c.originalWorkOrderId, c.conflict]));
    for (const item of todo) {
      const conflict = conflictOf.get(undoRequestOf(item).originalWorkOrderId);
      if (conflict) {
        result.failures.push({ id: item.id, category: 'eligibility', message: conflict, retryable: false });
        result.logs.push(logOf(item, LOG_CHECK, undefined, { message: conflict }));
      } else {
        result.succeeded.push(item.id);
      }
    }
    return result;
  }

  async function restore(ctx: ChunkContext, originalId: number, items: WorkItem[]): Promise<void> {
    const todo = items.filter((item) => !item.stepsDone.includes(STEP_LOCAL));
    if (todo.length === 0) return;
    const byId = new Map(todo.map((item) => [item.id, item]));
    await db.transaction().execute(async (trx) => {
      const done = await undos.restoreLocal(
        trx,
        ctx,
        originalId,
        todo.map((item) => item.id),
      );
      await repo.insertLogs(
        trx,
        ctx,
        done.map((d) => logOf(byId.get(d.workOrderId)!, LOG_LOCAL[d.what], undefined)),
      );
      await repo.markStepDone(
        trx,
        todo.map((item) => item.id),
        STEP_LOCAL,
      );
    });
  }

  /** Each group of devices going back to the same plan is one carrier step, as in an assignment. */
  async function carrierBack(
    bc: BulkChangeContextRow,
    ctx: ChunkContext,
    items: WorkItem[],
    commitStep: CommitStep,
  ): Promise<{ alive: WorkItem[]; waiting: Set<number> }> {
    let alive = items;
    const waiting = new Set<number>();
    const todo = items.filter(
      (item) => !item.stepsDone.includes(CARRIER_STEP) && undoRequestOf(item).carrierPlan?.ratePlan,
    );
    const groups = new Map<string, WorkItem[]>();
    for (const item of todo) {
      const plan = undoRequestOf(item).carrierPlan!;
      const key = JSON.stringify([plan.ratePlan, plan.communicationPlan]);
      groups.set(key, [...(groups.get(key) ?? []), item]);
    }
    for (const group of groups.values()) {
      const target = undoRequestOf(group[0]!).carrierPlan!;
      const plan = { ratePlan: target.ratePlan!, communicationPlan: target.communicationPlan ?? undefined };
      const result = await runCarrierStep(
        { ...deps.carrier, db },
        { integration: bc.integration, credentialsId: bc.credentials_id },
        plan,
        group,
        deps.today(),
      );
      const succeeded = new Set(result.succeeded);
      const credentialsId = bc.credentials_id;
      result.record = async (trx) => {
        await repo.applyCarrierPlan(
          trx,
          ctx,
          group.filter((item) => succeeded.has(item.id)),
          { ratePlan: plan.ratePlan, communicationPlan: target.communicationPlan },
          deps.today(),
        );
        if (credentialsId !== null && result.waiting.length > 0) {
          await carrierWaits.markWaitingForCarrier(
            trx,
            result.waiting,
            credentialsId,
            deps.carrierConfirmMinutes,
          );
          await deps.carrierResults.schedulePoll(bc.id, 30, 0, trx);
        }
      };
      alive = await commitStep(ctx, alive, CARRIER_STEP, result);
      for (const w of result.waiting) waiting.add(w.id);
      if (result.waiting.length > 0 && credentialsId !== null) {
        const early = await carrierWaits.findCarrierResults(
          db,
          credentialsId,
          result.waiting.map((w) => w.requestId),
        );
        await deps.carrierResults.applyKept(credentialsId, early);
      }
    }
    return { alive, waiting };
  }

  return {
    /** Runs a claimed group through every step; returns the group's figures for the chunk's log line. */
    async runGroup(
      bc: BulkChangeContextRow,
      ctx: ChunkContext,
      items: WorkItem[],
      commitStep: CommitStep,
    ): Promise<{ ok: number; waiting: number; failed: number }> {
      const originalId = (bc.options as { undoOf: number }).undoOf;
      const original = await repo.loadBulkChange(db, originalId);
      const options = (original?.options ?? {}) as AssignmentOptions;
      let alive = await commitStep(ctx, items, STEP_CHECK, await check(bc, originalId, items));
      alive = await commitStep(ctx, alive, STEP_REV, await disconnectUndoLines(deps, ctx, options, alive));
      await restore(ctx, originalId, alive);
      alive = alive.map((item) =>
        item.stepsDone.includes(STEP_LOCAL) ? item : { ...item, stepsDone: [...item.stepsDone, STEP_LOCAL] },
      );
      const back = await carrierBack(bc, ctx, alive, commitStep);
      const done = back.alive.filter((item) => !back.waiting.has(item.id));
      await repo.markProcessed(
        db,
        done.map((item) => item.id),
      );
      return { ok: done.length, waiting: back.waiting.size, failed: items.length - back.alive.length };
    },
  };
}
