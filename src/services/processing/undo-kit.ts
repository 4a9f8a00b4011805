import type { Executor } from '../../db/database.ts';
import * as repo from '../../db/repositories/processing.repository.ts';
import type { ChunkContext, WorkItem } from '../../db/repositories/processing.repository.ts';

/** An undo's step names, its work orders' request, and the ThingSpace confirmation of its plans. */

export const STEP_CHECK = 'undo_check';
export const STEP_REV = 'undo_rev';
export const STEP_LOCAL = 'undo_local';

/** What an undo work order's request adds to an assignment's. */
interface UndoRequest {
  originalWorkOrderId: number;
  carrierPlan: { ratePlan: string | null; communicationPlan: string | null } | null;
}

export function isUndo(options: unknown): options is { undoOf: number } {
  return typeof (options as { undoOf?: unknown } | null)?.undoOf === 'number';
}

export const undoRequestOf = (item: Pick<WorkItem, 'request'>) => item.request as unknown as UndoRequest;

/**
 * A ThingSpace confirmation of an undo's plan change: each device goes back to its own plan (an
 * assignment's confirmations all carry the bulk change's one plan).
 */
export async function applyConfirmedUndoPlans(
  trx: Executor,
  ctx: Pick<ChunkContext, 'tenantId' | 'bulkChangeId' | 'createdBy'>,
  items: Pick<WorkItem, 'id' | 'deviceId' | 'request'>[],
  today: string,
): Promise<void> {
  const groups = new Map<string, typeof items>();
  for (const item of items) {
    const plan = undoRequestOf(item).carrierPlan;
    if (!plan?.ratePlan) continue;
    const key = JSON.stringify([plan.ratePlan, plan.communicationPlan]);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  for (const group of groups.values()) {
    const plan = undoRequestOf(group[0]!).carrierPlan!;
    await repo.applyCarrierPlan(
      trx,
      ctx,
      group,
      { ratePlan: plan.ratePlan!, communicationPlan: plan.communicationPlan },
      today,
    );
  }
}
