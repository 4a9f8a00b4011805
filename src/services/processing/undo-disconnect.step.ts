import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../../db/database.ts';
import type { ChunkContext, Failure, WorkItem } from '../../db/repositories/processing.repository.ts';
import * as undos from '../../db/repositories/undo.repository.ts';
import type { Exchange, RetryableError } from '../../errors.ts';
import type { AssignmentOptions } from '../assignment/request.ts';
import type { RevStepDeps } from './rev-service.step.ts';
import { withRetries } from './retry-policy.ts';
import { emptyResult, logOf, mapWithConcurrency, type StepResult } from './step-kit.ts';
import { STEP_REV } from './undo-kit.ts';

/**
 * An undo's Rev.io step: the products and lines the original created are disconnected, dated today.
 * Nothing is disconnected twice: each line's disconnect intent (the undo work order) is committed
 * before any call, and whenever a disconnect may already have reached Rev.io (an earlier run, a
 * lost answer) the remote record is looked up first and a disconnected one is only recorded.
 */

const LOG_PRODUCT = 'Undo: Disconnect Rev.io Service Product: Rev.io API';
const LOG_SERVICE = 'Undo: Disconnect Rev.io Service: Rev.io API';
const FOUND = ' (found disconnected already)';

export interface UndoDisconnectDeps {
  db: Database;
  rev: Omit<RevStepDeps, 'db'>;
  today: () => string;
}

export async function disconnectUndoLines(
  deps: UndoDisconnectDeps,
  ctx: ChunkContext,
  options: AssignmentOptions,
  items: WorkItem[],
): Promise<StepResult> {
  const { db } = deps;
  const result = emptyResult();
  const todo = items.filter((item) => !item.stepsDone.includes(STEP_REV));
  if (todo.length === 0) return result;
  const targets = await undos.claimDisconnectTargets(
    db,
    todo.map((item) => item.id),
  );
  const today = deps.today();
  const prorate = options.revService?.prorate ?? false;
  const serviceRowIds: number[] = [];
  const productRowIds: number[] = [];
  await mapWithConcurrency(todo, deps.rev.concurrency, async (item) => {
    const problems: string[] = [];
    let retryable = true;
    for (const target of targets.filter((t) => t.workOrderId === item.id)) {
      const creds = await deps.rev.accounts.revio(target.revCredentialsId);
      const mayBeSent = (intended: boolean, previousError: unknown) =>
        intended || item.attempts > 1 || previousError !== undefined;
      let listed: { disconnected: Set<number>; exchange: Exchange } | undefined;
      for (const product of target.products.filter((p) => p.status === 'created')) {
        const outcome = await withRetries(deps.rev.policy, async ({ previousError }) => {
          if (mayStillLand(previousError)) await sleep(deps.rev.lateCreateGraceMs);
          if (mayBeSent(product.intended, previousError)) {
            if (!listed || previousError) {
              const found = await deps.rev.revio.listServiceProducts(creds, target.serviceId);
              listed = {
                disconnected: new Set(
                  found.value.filter((p) => p.disconnected).map((p) => p.serviceProductId),
                ),
                exchange: found.exchange,
              };
            }
            if (listed.disconnected.has(product.serviceProductId))
              return { exchange: listed.exchange, adopted: true };
          }
          const sent = await deps.rev.revio.disconnectServiceProduct(creds, {
            serviceProductId: product.serviceProductId,
            effectiveDate: today,
            generateProration: prorate,
          });
          return { exchange: sent.exchange, adopted: false };
        });
        if (outcome.ok) {
          productRowIds.push(product.id);
          const description = outcome.value.adopted ? `${LOG_PRODUCT}${FOUND}` : LOG_PRODUCT;
          result.logs.push(logOf(item, description, outcome.value.exchange));
        } else {
          result.logs.push(logOf(item, LOG_PRODUCT, outcome.error.exchange, outcome.error));
          problems.push(`product ${product.serviceProductId}: ${outcome.error.message}`);
          retryable &&= outcome.retryable;
        }
      }
      // The line stays live while one of its products could not be disconnected.
      if (problems.length > 0 || target.status !== 'created') continue;
      const outcome = await withRetries(deps.rev.policy, async ({ previousError }) => {
        if (mayStillLand(previousError)) await sleep(deps.rev.lateCreateGraceMs);
        if (mayBeSent(target.intended, previousError)) {
          const found = await deps.rev.revio.findServices(creds, {
            customerId: target.revCustomerId,
            number: target.number,
          });
          const line = found.value.find((s) => s.serviceId === target.serviceId);
          if (line?.disconnectedDate) return { exchange: found.exchange, adopted: true };
        }
        const sent = await deps.rev.revio.disconnectService(creds, {
          serviceId: target.serviceId,
          disconnectedDate: today,
        });
        return { exchange: sent.exchange, adopted: false };
      });
      if (outcome.ok) {
        serviceRowIds.push(target.revServiceRowId);
        const description = outcome.value.adopted ? `${LOG_SERVICE}${FOUND}` : LOG_SERVICE;
        result.logs.push(logOf(item, description, outcome.value.exchange));
      } else {
        result.logs.push(logOf(item, LOG_SERVICE, outcome.error.exchange, outcome.error));
        problems.push(`service ${target.serviceId}: ${outcome.error.message}`);
        retryable &&= outcome.retryable;
      }
    }
    if (problems.length === 0) result.succeeded.push(item.id);
    else {
      result.failures.push({
        id: item.id,
        category: 'integration',
        message: `Rev.io not disconnected: ${problems.join('; ')}`,
        retryable,
      } satisfies Failure);
    }
  });
  result.record = (trx) => undos.recordDisconnects(trx, ctx, { serviceRowIds, productRowIds, today });
  return result;
}

/** As for creates: a disconnect that timed out may still land; the lookup waits as long again. */
function mayStillLand(error: RetryableError | undefined): boolean {
  const name = (error?.cause as { name?: unknown } | undefined)?.name;
  return error?.status === undefined && (name === 'TimeoutError' || name === 'AbortError');
}
