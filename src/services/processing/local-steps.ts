import type { Database, Executor } from '../../db/database.ts';
import * as ownership from '../../db/repositories/ownership.repository.ts';
import * as repo from '../../db/repositories/processing.repository.ts';
import type { ChunkContext, WorkItem } from '../../db/repositories/processing.repository.ts';
import type { AssignmentOptions } from '../assignment/request.ts';
import { logOf } from './step-kit.ts';

/**
 * The steps that touch only simbind's own tables: ownership and the customer rate plan. On the
 * AMOP path they are all there is, and a group is done in one transaction of two statements (three
 * with a customer rate plan) whatever its size.
 */

export const LOG_OWNERSHIP_REV = 'Create Rev.io Service: Update AMOP';
export const LOG_OWNERSHIP_AMOP = 'AMOP Customer Assignment';
const LOG_PLAN_NOW = 'AMOP Customer Rate Plan/Rate Pool Assignment';
const LOG_PLAN_LATER = 'Associate Customer: Update AMOP Customer Rate Plan';

export const OWNERSHIP = 'ownership';
export const CUSTOMER_RATE_PLAN = 'customer_rate_plan';

/** Counts devices through each step, once per group (metrics). */
export type CountDevices = (step: string, outcome: 'ok' | 'failed' | 'waiting', count: number) => void;

/** No step leaves simbind: the whole group is one transaction, and nothing can fail half-way. */
export function isLocalOnly(options: AssignmentOptions): boolean {
  return !options.createRevService && !options.addCarrierRatePlan;
}

/**
 * The customer rate plan / pool of `todo` (devices whose ownership is written), applied now or
 * scheduled for its effective date, with a change-log entry each. The caller records the step done.
 */
export async function applyCustomerPlanStep(
  trx: Executor,
  ctx: ChunkContext,
  todo: WorkItem[],
  plan: NonNullable<AssignmentOptions['customerRatePlan']>,
  today: string,
): Promise<void> {
  const { appliedIds, scheduledIds } = await repo.applyCustomerRatePlan(
    trx,
    ctx,
    todo.map((item) => item.id),
    { ratePlanId: plan.ratePlanId ?? null, ratePoolId: plan.ratePoolId ?? null },
    today,
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
}

/**
 * Claims the chunk's next `limit` work orders and does all their local steps, in one transaction:
 * each work order is written once (PENDING → PROCESSED), in the statement that writes its
 * ownership, history and change-log entry. Returns how many devices the group held (0: the chunk
 * has nothing open left).
 */
export async function runLocalGroup(
  deps: { db: Database; today: () => string; countDevices: CountDevices },
  ctx: ChunkContext,
  options: AssignmentOptions,
  chunk: number,
  limit: number,
): Promise<number> {
  const plan = options.addCustomerRatePlan ? options.customerRatePlan : undefined;
  const steps = plan ? [OWNERSHIP, CUSTOMER_RATE_PLAN] : [OWNERSHIP];
  const { group, planned } = await deps.db.transaction().execute(async (trx) => {
    await ownership.markStarted(trx, ctx.bulkChangeId, chunk);
    const claimed = await ownership.finishLocalGroup(trx, ctx, {
      chunk,
      limit,
      steps,
      description: LOG_OWNERSHIP_AMOP,
      items: plan !== undefined,
    });
    // A device without an ownership row cannot hold a plan: ownership was written just before, in
    // this transaction, so every device is either applied or scheduled.
    const todo = plan ? claimed.items.filter((item) => !item.stepsDone.includes(CUSTOMER_RATE_PLAN)) : [];
    if (plan && todo.length > 0) await applyCustomerPlanStep(trx, ctx, todo, plan, deps.today());
    return { group: claimed, planned: todo.length };
  });
  deps.countDevices(OWNERSHIP, 'ok', group.ownershipNew);
  if (plan) deps.countDevices(CUSTOMER_RATE_PLAN, 'ok', planned);
  deps.countDevices('complete', 'ok', group.devices);
  return group.devices;
}
