import type { RevioClient, RevioCredentials } from '../../clients/revio.client.ts';
import type { Database } from '../../db/database.ts';
import type { ChunkContext, Failure, WorkItem } from '../../db/repositories/processing.repository.ts';
import * as revServices from '../../db/repositories/rev-service.repository.ts';
import type { Exchange, RetryableError } from '../../errors.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AssignmentOptions } from '../assignment/request.ts';
import type { IntegrationAccounts } from '../integration-accounts.ts';
import { withRetries, type RetryPolicy } from './retry-policy.ts';
import { collectOutcomes, resultOf, type DeviceOutcome, type HandOver } from './rev-progress.ts';
import { emptyResult, integrationFailure, logOf, mapWithConcurrency, type StepResult } from './step-kit.ts';

/**
 * Step 1: a Rev.io service line per device, then one service product per (product, rate) unless a
 * package was chosen (≙ the older POST /v1/Services + POST /v1/ServiceProduct per pair).
 *
 * Never a duplicate: intents are committed before any call; whenever a create may already have
 * happened (an intent left open by an earlier run of this chunk, a withdrawn intent, a lost answer
 * in this run), the service is looked up by customer and number first and adopted if found.
 *
 * Only those: an intent this run inserted has had no create sent, so its device goes straight to
 * the create. Intents are inserted a block of `concurrency` devices at a time, as the calls reach
 * the block, so a run that dies leaves at most about one block of open intents whose create was
 * never sent (each costs the next run one lookup), not the whole group: issue 13 measured every
 * device of a resumed group looked up (`attempts > 1`), devices the dead run never reached included.
 */

export const STEP = 'rev_service';
const LOG_SERVICE = 'Create Rev.io Service: Rev.io API';
const LOG_PRODUCT = 'Create Rev.io Service Product: Rev.io API';
/** Suffix of the log entry of an effect found by lookup (made by a run whose answer was lost). */
const ADOPTED = ' (found after a lost answer)';

export interface RevStepDeps {
  db: Database;
  revio: RevioClient;
  accounts: IntegrationAccounts;
  policy: RetryPolicy;
  concurrency: number;
  /** How long a timed-out create may still take to land at Rev.io (HTTP_TIMEOUT_MS). */
  lateCreateGraceMs: number;
}

/** The step's result for the devices not handed over, and which were. */
export type RevStepResult = StepResult & { handedOver: ReadonlySet<number> };

/**
 * How long a device that finished its Rev.io calls waits at most before it is handed over: the
 * progress a screen shows moves at least this often while a group waits for Rev.io.
 */
const HAND_OVER_MS = 1000;

/**
 * With `handOver`, devices are handed over as they finish (a batch at least every second, see
 * rev-progress.ts), each with its part of the result, and the result returned holds only the
 * others; without it, the result holds every device.
 */
export async function runRevServiceStep(
  deps: RevStepDeps,
  ctx: ChunkContext,
  options: AssignmentOptions,
  items: WorkItem[],
  handOver?: HandOver,
): Promise<RevStepResult> {
  const rev = options.revService;
  const todo = items.filter((item) => !item.stepsDone.includes(STEP));
  if (!rev || todo.length === 0) return { ...emptyResult(), handedOver: new Set() };
  const finished = collectOutcomes(handOver, HAND_OVER_MS);

  const first = todo[0]!.request;
  const defaults: revServices.ServiceIntentDefaults = {
    tenantId: ctx.tenantId,
    customerId: ctx.customerId,
    revCustomerId: first.revCustomerId!,
    revCredentialsId: first.revCredentialsId!,
    serviceTypeId: rev.serviceTypeId,
    providerId: rev.providerId ?? null,
    packageId: rev.packageId ?? null,
    usagePlanGroupId: rev.usagePlanGroupId ?? null,
    description: rev.description ?? null,
  };
  const intentFor = inBlocks(todo, deps.concurrency, async (block) => {
    const intents = await revServices.ensureServiceIntents(
      deps.db,
      defaults,
      block.map((item) => ({
        workOrderId: item.id,
        deviceId: item.deviceId,
        number: item.msisdn ?? item.iccid,
        number2: item.iccid,
        // The older client sent an effective date only when prorating.
        effectiveDate: rev.prorate ? item.request.effectiveDate : null,
        activatedDate: item.request.activatedDate,
      })),
    );
    const byWorkOrder = new Map(intents.map((intent) => [intent.workOrderId, intent]));
    return (item) => byWorkOrder.get(item.id);
  });

  const products = rev.packageId === undefined ? (rev.products ?? []) : [];
  // Services first, every device of the group (product intents are made in blocks of them).
  const outcomes = await mapWithConcurrency(todo, deps.concurrency, async (item) => {
    const outcome: DeviceOutcome & { serviceId?: number; intentId?: number } = {
      item,
      logs: [],
      products: [],
    };
    const intent = await intentFor(item);
    if (!intent) {
      outcome.failure = {
        id: item.id,
        category: 'eligibility',
        message: 'Active service line. New service line not created.',
        retryable: false,
      };
    } else {
      const creds = await deps.accounts.revio(item.request.revCredentialsId!);
      const { serviceId, logs, failure } = await serviceFor(deps, creds, item, intent, rev);
      outcome.logs.push(...logs);
      if (serviceId === null) outcome.failure = failure!;
      else {
        if (intent.status !== 'created') outcome.service = { intentId: intent.id, serviceId };
        outcome.serviceId = serviceId;
        outcome.intentId = intent.id;
      }
    }
    // Done unless products follow.
    if (outcome.failure || products.length === 0) finished.done(outcome);
    return outcome;
  });
  const withService = products.length === 0 ? [] : outcomes.filter((o) => !o.failure);

  const productIntentsOf = inBlocks(withService, deps.concurrency, async (block) => {
    const intents = await revServices.ensureProductIntents(
      deps.db,
      ctx.tenantId,
      block.flatMap((w) =>
        products.map((p) => ({ revServiceRowId: w.intentId!, productId: p.productId, rate: p.rate })),
      ),
    );
    return (w) => intents.filter((p) => p.revServiceRowId === w.intentId);
  });
  await mapWithConcurrency(withService, deps.concurrency, async (w) => {
    const { item } = w;
    const serviceId = w.serviceId!;
    const creds = await deps.accounts.revio(item.request.revCredentialsId!);
    const mine = (await productIntentsOf(w))!.filter((p) => p.status !== 'created');
    let existing: { byProduct: Map<number, number>; exchange: Exchange } | undefined;
    const failures: string[] = [];
    // Sequential per device: a device's products are few, and the lookup is shared between them.
    for (const intent of mine) {
      const mayExist = !intent.fresh;
      const outcome = await withRetries(deps.policy, async ({ previousError }) => {
        if (mayStillLand(previousError)) await sleep(deps.lateCreateGraceMs);
        if (mayExist || previousError) {
          if (!existing || previousError) {
            const listed = await deps.revio.listServiceProducts(creds, serviceId);
            existing = {
              byProduct: new Map(listed.value.map((p) => [p.productId, p.serviceProductId])),
              exchange: listed.exchange,
            };
          }
          const found = existing.byProduct.get(intent.productId);
          if (found !== undefined)
            return { serviceProductId: found, exchange: existing.exchange, adopted: true };
        }
        const created = await deps.revio.createServiceProduct(creds, {
          serviceId,
          productId: intent.productId,
          customerId: item.request.revCustomerId ?? undefined,
          rate: intent.rate === null ? undefined : Number(intent.rate),
          quantity: 1,
          effectiveDate: rev.prorate ? item.request.effectiveDate : undefined,
          activatedDate: item.request.activatedDate,
          generateProration: rev.prorate ?? false,
        });
        return {
          serviceProductId: created.value.serviceProductId,
          exchange: created.exchange,
          adopted: false,
        };
      });
      if (outcome.ok) {
        w.products.push({ intentId: intent.id, serviceProductId: outcome.value.serviceProductId });
        const description = outcome.value.adopted ? `${LOG_PRODUCT}${ADOPTED}` : LOG_PRODUCT;
        w.logs.push(logOf(item, description, outcome.value.exchange));
      } else {
        w.products.push({ intentId: intent.id, serviceProductId: null });
        w.logs.push(logOf(item, LOG_PRODUCT, outcome.error.exchange, outcome.error));
        failures.push(`product ${intent.productId}: ${outcome.error.message}`);
        if (!outcome.retryable) break;
      }
    }
    if (failures.length > 0) {
      // Every failed product is named: the older system reported only the last one.
      w.failure = {
        id: item.id,
        category: 'integration',
        message: `Rev.io service ${serviceId} created, but ${failures.join('; ')}`,
        retryable: true,
      };
    }
    finished.done(w);
  });
  const rest = await finished.close();
  return { ...resultOf(rest), handedOver: finished.handedOver };
}

interface ServiceOutcome {
  intent: revServices.ServiceIntent;
  serviceId: number | null;
  logs: StepResult['logs'];
  failure?: Failure;
}

async function serviceFor(
  deps: RevStepDeps,
  creds: RevioCredentials,
  item: WorkItem,
  intent: revServices.ServiceIntent,
  rev: NonNullable<AssignmentOptions['revService']>,
): Promise<ServiceOutcome> {
  if (intent.status === 'created' && intent.serviceId !== null)
    return { intent, serviceId: intent.serviceId, logs: [] };
  const number = item.msisdn ?? item.iccid;
  const revCustomerId = item.request.revCustomerId!;
  // An intent left by an earlier run (open: its create may have been sent) or withdrawn ('failed').
  const mayExist = !intent.fresh;
  const logs: StepResult['logs'] = [];

  const outcome = await withRetries(deps.policy, async ({ previousError }) => {
    if (mayStillLand(previousError)) await sleep(deps.lateCreateGraceMs);
    if (mayExist || previousError) {
      const found = await deps.revio.findServices(creds, { customerId: revCustomerId, number });
      const match = found.value.find(
        (s) => s.disconnectedDate === null && (s.number2 === null || s.number2 === item.iccid),
      );
      if (match) return { serviceId: match.serviceId, exchange: found.exchange, adopted: true };
    }
    const created = await deps.revio.createService(creds, {
      customerId: revCustomerId,
      number,
      number2: item.iccid,
      serviceTypeId: rev.serviceTypeId,
      providerId: rev.providerId,
      usagePlanGroupId: rev.usagePlanGroupId,
      packageId: rev.packageId,
      description: rev.description,
      effectiveDate: rev.prorate ? item.request.effectiveDate : undefined,
      activatedDate: item.request.activatedDate,
    });
    return { serviceId: created.value.serviceId, exchange: created.exchange, adopted: false };
  });

  if (outcome.ok) {
    const description = outcome.value.adopted ? `${LOG_SERVICE}${ADOPTED}` : LOG_SERVICE;
    logs.push(logOf(item, description, outcome.value.exchange));
    return { intent, serviceId: outcome.value.serviceId, logs };
  }
  logs.push(logOf(item, LOG_SERVICE, outcome.error.exchange, outcome.error));
  return {
    intent,
    serviceId: null,
    logs,
    failure: integrationFailure(item, outcome.error, outcome.retryable, 'Rev.io service not created'),
  };
}

/**
 * A create that timed out may still be running at Rev.io: the lookup before resending waits as long
 * again for it to land. Looked up at once, a late create was missed and the device billed twice
 * (measured: 8 of 40 devices whose creates were answered 300 ms after the timeout).
 */
function mayStillLand(error: RetryableError | undefined): boolean {
  const name = (error?.cause as { name?: unknown } | undefined)?.name;
  return error?.status === undefined && (name === 'TimeoutError' || name === 'AbortError');
}

/**
 * `find(item)` for items whose records are made `size` items at a time, in `items`' order, when the
 * first item of a block asks: a block's records are committed before any of its calls is made, and
 * a block nobody reached has none.
 */
function inBlocks<T, R>(
  items: T[],
  size: number,
  make: (block: T[]) => Promise<(item: T) => R | undefined>,
): (item: T) => Promise<R | undefined> {
  const indexOf = new Map(items.map((item, index) => [item, index]));
  const blocks = new Map<number, Promise<(item: T) => R | undefined>>();
  return async (item) => {
    const block = Math.floor(indexOf.get(item)! / size);
    let made = blocks.get(block);
    if (made === undefined) {
      made = make(items.slice(block * size, (block + 1) * size));
      blocks.set(block, made);
    }
    return (await made)(item);
  };
}
