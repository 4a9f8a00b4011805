import type { ThingSpaceClient } from '../../clients/thingspace.client.ts';
import type { Database } from '../../db/database.ts';
import type { Executor } from '../../db/database.ts';
import * as waits from '../../db/repositories/carrier-wait.repository.ts';
import * as repo from '../../db/repositories/processing.repository.ts';
import type { ChunkContext } from '../../db/repositories/processing.repository.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { AssignmentOptions } from '../assignment/request.ts';
import type { IntegrationAccounts } from '../integration-accounts.ts';
import { LOG_CARRIER, STEP as CARRIER_STEP } from './carrier.step.ts';
import { withRetries, type RetryPolicy } from './retry-policy.ts';
import { contextOf, logOf, mapWithConcurrency } from './step-kit.ts';
import { applyConfirmedUndoPlans, isUndo } from './undo.step.ts';

/**
 * The carriers' asynchronous answers (ThingSpace plan changes): from the callback, from the
 * safety-net poll, or found in the inbox when they beat the worker's own bookkeeping. Every result
 * belongs to one ThingSpace account (credentials row) and settles only the waits on requests sent
 * with that account. Every result is kept first; waiting work orders are then claimed atomically,
 * so a result is applied once.
 */

export interface CarrierResult {
  requestId: string;
  status: 'Success' | 'Failed';
  faultString?: string;
}

export interface CarrierResults {
  /**
   * Keeps and applies an account's results. A callback's Failed is not taken on its word (anyone
   * who learnt the URL could send one): it counts only once ThingSpace's status call says Failed
   * too; while the request is still Pending there, or the call fails, the callback changes nothing
   * and the poll settles the wait later.
   */
  complete(credentialsId: number, results: CarrierResult[], via: 'callback' | 'poll'): Promise<number>;
  /** Applies results found in the inbox (already kept; their failures already confirmed). */
  applyKept(credentialsId: number, results: CarrierResult[]): Promise<number>;
  /**
   * Ends the waits past their deadline, asks ThingSpace about the others, and queues the next poll
   * (later each round, never after the next deadline) while some are still pending.
   */
  poll(bulkChangeId: number, round: number): Promise<void>;
  /**
   * Queues a poll; at most one is queued per bulk change (the queue's `short` policy). Given the
   * transaction that records the waits, the poll commits with them: no wait is left without one.
   */
  schedulePoll(
    bulkChangeId: number,
    afterSeconds: number,
    round?: number,
    executor?: Executor,
  ): Promise<void>;
}

/** First poll after 30 s, then twice as long each round, at most every 15 minutes. */
const POLL_FIRST_SECONDS = 30;
const POLL_MAX_SECONDS = 15 * 60;

/**
 * Ends the bulk change's carrier waits (past their deadline, or all of them) with ERROR /
 * integration and a change-log entry each, in the caller's transaction.
 */
export async function endCarrierWaits(
  trx: Executor,
  ctx: ChunkContext,
  which: 'overdue' | 'all',
  message: string,
): Promise<number> {
  const ended = await waits.endCarrierWaits(trx, ctx.bulkChangeId, which, message);
  await repo.insertLogs(
    trx,
    ctx,
    ended.map((w) => {
      const text = message.replace('{request}', w.requestId);
      return {
        workOrderId: w.id,
        deviceId: w.deviceId,
        description: `${LOG_CARRIER} (not confirmed)`,
        requestText: null,
        responseStatus: null,
        responseText: w.requestId,
        hasError: true,
        errorText: text,
      };
    }),
  );
  return ended.length;
}

export function createCarrierResults(deps: {
  db: Database;
  queue: JobQueue;
  /** CARRIER_CONFIRM_MINUTES, for the message of a wait that ran out. */
  confirmMinutes: number;
  thingspace: ThingSpaceClient;
  accounts: IntegrationAccounts;
  policy: RetryPolicy;
  finishIfDone: (bulkChangeId: number) => Promise<void>;
  /** Today as yyyy-MM-dd: a confirmed change dated later is kept as scheduled. */
  today: () => string;
}): CarrierResults {
  const { db, finishIfDone } = deps;

  /** ThingSpace's own word on each Failed result; Pending or unknown ones are dropped. */
  async function confirmFailures(credentialsId: number, results: CarrierResult[]): Promise<CarrierResult[]> {
    const failed = results.filter((r) => r.status === 'Failed');
    if (failed.length === 0) return results;
    const creds = await deps.accounts.thingspace(credentialsId);
    const answers = await mapWithConcurrency(failed, 4, async (r): Promise<CarrierResult | undefined> => {
      try {
        const { value } = await deps.thingspace.getRequestStatus(creds, r.requestId);
        if (value.status === 'Pending') return undefined;
        return {
          requestId: r.requestId,
          status: value.status,
          faultString: value.faultString ?? r.faultString,
        };
      } catch {
        // Unknown to this account, or ThingSpace unreachable: nothing is applied; the poll asks again.
        return undefined;
      }
    });
    return [
      ...results.filter((r) => r.status === 'Success'),
      ...answers.filter((a): a is CarrierResult => a !== undefined),
    ];
  }

  async function complete(
    credentialsId: number,
    given: CarrierResult[],
    via: 'callback' | 'poll',
  ): Promise<number> {
    const results = via === 'callback' ? await confirmFailures(credentialsId, given) : given;
    if (results.length === 0) return 0;
    await waits.storeCarrierResults(db, credentialsId, results);
    return apply(credentialsId, results, via);
  }

  async function apply(
    credentialsId: number,
    results: CarrierResult[],
    via: 'callback' | 'poll',
  ): Promise<number> {
    if (results.length === 0) return 0;
    const byRequest = new Map(results.map((r) => [r.requestId, r]));
    const touched = await db.transaction().execute(async (trx) => {
      const claimed = await waits.claimWaitingByRequestIds(
        trx,
        credentialsId,
        results.map((r) => r.requestId),
      );
      await waits.forgetCarrierResults(trx, credentialsId, [...new Set(claimed.map((w) => w.requestId))]);
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
            ok.map((w) => w.item),
            { ratePlan: plan.ratePlan, communicationPlan: plan.communicationPlan ?? null },
            deps.today(),
          );
        } else if (isUndo(bc.options)) {
          // An undo's devices each go back to their own plan.
          await applyConfirmedUndoPlans(
            trx,
            ctx,
            ok.map((w) => w.item),
            deps.today(),
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
        // The carrier refused this change (device not active, monthly limit, unknown plan): once
        // the cause is fixed at the carrier, "retry failed" sends it again.
        await repo.failWorkOrders(
          trx,
          failed.map((w) => ({
            id: w.item.id,
            category: 'integration',
            message: `ThingSpace plan change failed: ${byRequest.get(w.requestId)?.faultString ?? 'no reason given'}`,
            retryable: true,
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

  async function schedulePoll(
    bulkChangeId: number,
    afterSeconds: number,
    round = 0,
    executor: Executor = deps.db,
  ): Promise<void> {
    await deps.queue.enqueue(
      executor,
      'carrier.poll',
      { bulkChangeId, round },
      { startAfter: Math.max(1, Math.ceil(afterSeconds)), singletonKey: `poll-${bulkChangeId}` },
    );
  }

  async function poll(bulkChangeId: number, round: number): Promise<void> {
    const bc = await repo.loadBulkChange(db, bulkChangeId);
    if (!bc) return;
    const ended = await db
      .transaction()
      .execute((trx) =>
        endCarrierWaits(
          trx,
          contextOf(bc, 'thingspace-poll'),
          'overdue',
          overdueMessage(deps.confirmMinutes),
        ),
      );
    if (ended > 0) await finishIfDone(bulkChangeId);
    if (bc.integration !== 'thingspace') return;
    const waiting = await waits.findWaitingInBulkChange(db, bulkChangeId);
    if (waiting.length === 0) return;
    // Each request is asked about, and settled, with the account that sent it (the service
    // provider's credentials may have changed since).
    const requests = [...new Map(waiting.map((w) => [w.requestId, w])).values()];
    const answers = await mapWithConcurrency(requests, 4, async ({ requestId, credentialsId }) => {
      const creds = await deps.accounts.thingspace(credentialsId);
      const outcome = await withRetries(deps.policy, () =>
        deps.thingspace.getRequestStatus(creds, requestId),
      );
      return outcome.ok ? { requestId, credentialsId, ...outcome.value.value } : undefined;
    });
    const settled = answers.filter(
      (a): a is NonNullable<typeof a> & { status: 'Success' | 'Failed' } =>
        a !== undefined && a.status !== 'Pending',
    );
    for (const credentialsId of new Set(settled.map((a) => a.credentialsId))) {
      await complete(
        credentialsId,
        settled
          .filter((a) => a.credentialsId === credentialsId)
          .map((a) => ({ requestId: a.requestId, status: a.status, faultString: a.faultString })),
        'poll',
      );
    }
    if (settled.length < requests.length) {
      const deadline = await waits.nextCarrierDeadline(db, bulkChangeId);
      const untilDeadline = deadline ? (deadline.getTime() - Date.now()) / 1000 + 1 : Infinity;
      const backoff = Math.min(POLL_MAX_SECONDS, POLL_FIRST_SECONDS * 2 ** (round + 1));
      await schedulePoll(bulkChangeId, Math.min(backoff, untilDeadline), round + 1);
    }
  }

  return {
    complete,
    applyKept: (credentialsId, results) => apply(credentialsId, results, 'callback'),
    poll,
    schedulePoll,
  };
}

function overdueMessage(minutes: number): string {
  const wait = minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`;
  return `No confirmation from ThingSpace after ${wait} (request {request}); the device's other steps are done: check its rate plan at the carrier.`;
}
