import type { Database } from '../../db/database.ts';
import * as carrierWaits from '../../db/repositories/carrier-wait.repository.ts';
import * as repo from '../../db/repositories/processing.repository.ts';
import type {
  BulkChangeContextRow,
  ChunkContext,
  WorkItem,
} from '../../db/repositories/processing.repository.ts';
import type { AssignmentOptions } from '../assignment/request.ts';
import type { CarrierResults } from './carrier-results.ts';
import { runCarrierStep, STEP as CARRIER_STEP, type CarrierStepDeps } from './carrier.step.ts';
import type { CountDevices } from './local-steps.ts';
import type { StepResult } from './step-kit.ts';

/**
 * A group's carrier rate-plan step and the hand-off of its asynchronous part: the devices a
 * carrier answers later (ThingSpace) wait for a callback or the poll, and results that came in
 * before the wait was recorded are applied from the account's inbox at once.
 */

export interface CarrierPlanDeps {
  db: Database;
  carrier: Omit<CarrierStepDeps, 'db'>;
  carrierConfirmMinutes: number;
  today: () => string;
  countDevices: CountDevices;
  carrierResults: Pick<CarrierResults, 'schedulePoll' | 'applyKept'>;
}

/** Commits the step's outcome for `alive`, returning the work orders that go on. */
type Commit = (step: string, result: StepResult) => Promise<WorkItem[]>;

export async function runCarrierPlan(
  deps: CarrierPlanDeps,
  bc: BulkChangeContextRow,
  ctx: ChunkContext,
  plan: NonNullable<AssignmentOptions['carrierRatePlan']>,
  alive: WorkItem[],
  commit: Commit,
): Promise<{ alive: WorkItem[]; waiting: { id: number; requestId: string }[] }> {
  const { db, today } = deps;
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
      if (result.waiting.length > 0) await deps.carrierResults.schedulePoll(bc.id, 30, 0, trx);
    }
  };
  const next = await commit(CARRIER_STEP, result);
  deps.countDevices(CARRIER_STEP, 'waiting', result.waiting.length);
  const waiting = result.waiting;
  if (waiting.length > 0 && bc.credentials_id !== null) {
    // Results that arrived before the wait was recorded are in the account's inbox already.
    const early = await carrierWaits.findCarrierResults(
      db,
      bc.credentials_id,
      waiting.map((w) => w.requestId),
    );
    await deps.carrierResults.applyKept(bc.credentials_id, early);
  }
  return { alive: next, waiting };
}
