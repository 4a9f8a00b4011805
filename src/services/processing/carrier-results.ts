import type { ThingSpaceClient } from '../../clients/thingspace.client.ts';
import type { Database } from '../../db/database.ts';
import * as repo from '../../db/repositories/processing.repository.ts';
import { RetryableError } from '../../errors.ts';
import type { AssignmentOptions } from '../assignment/request.ts';
import type { IntegrationAccounts } from '../integration-accounts.ts';
import { LOG_CARRIER, STEP as CARRIER_STEP } from './carrier.step.ts';
import { withRetries, type RetryPolicy } from './retry-policy.ts';
import { contextOf, logOf, mapWithConcurrency } from './step-kit.ts';

/**
 * The carriers' asynchronous answers (ThingSpace plan changes): from the callback, from the
 * safety-net poll, or found in the inbox when they beat the worker's own bookkeeping. Every result
 * is kept first; waiting work orders are then claimed atomically, so a result is applied once.
 */

export interface CarrierResult {
  requestId: string;
  status: 'Success' | 'Failed';
  faultString?: string;
}

export interface CarrierResults {
  complete(results: CarrierResult[], via: 'callback' | 'poll'): Promise<number>;
  poll(bulkChangeId: number): Promise<void>;
}

export function createCarrierResults(deps: {
  db: Database;
  thingspace: ThingSpaceClient;
  accounts: IntegrationAccounts;
  policy: RetryPolicy;
  finishIfDone: (bulkChangeId: number) => Promise<void>;
}): CarrierResults {
  const { db, finishIfDone } = deps;

  async function complete(results: CarrierResult[], via: 'callback' | 'poll'): Promise<number> {
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
  }

  async function poll(bulkChangeId: number): Promise<void> {
    const bc = await repo.loadBulkChange(db, bulkChangeId);
    if (!bc || bc.credentials_id === null || bc.integration !== 'thingspace') return;
    const waiting = await repo.findWaitingInBulkChange(db, bulkChangeId);
    if (waiting.length === 0) return;
    const creds = await deps.accounts.thingspace(bc.credentials_id);
    const requestIds = [...new Set(waiting.map((w) => w.requestId))];
    const answers = await mapWithConcurrency(requestIds, 4, async (requestId) => {
      const outcome = await withRetries(deps.policy, () =>
        deps.thingspace.getRequestStatus(creds, requestId),
      );
      return outcome.ok ? { requestId, ...outcome.value.value } : undefined;
    });
    const settled = answers.filter(
      (a): a is NonNullable<typeof a> & { status: 'Success' | 'Failed' } =>
        a !== undefined && a.status !== 'Pending',
    );
    await complete(
      settled.map((a) => ({ requestId: a.requestId, status: a.status, faultString: a.faultString })),
      'poll',
    );
    if (settled.length < requestIds.length) {
      throw new RetryableError(`${requestIds.length - settled.length} ThingSpace requests still pending`, {
        system: 'thingspace',
      });
    }
  }

  return { complete, poll };
}
