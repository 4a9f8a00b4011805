import type { JasperClient } from '../../clients/jasper.client.ts';
import type { ThingSpaceClient } from '../../clients/thingspace.client.ts';
import type { Database } from '../../db/database.ts';
import type { WorkItem } from '../../db/repositories/processing.repository.ts';
import type { CarrierIntegration } from '../../db/schema.ts';
import type { IntegrationAccounts } from '../integration-accounts.ts';
import { withRetries, type RetryPolicy } from './retry-policy.ts';
import { emptyResult, integrationFailure, logOf, mapWithConcurrency, type StepResult } from './step-kit.ts';

/**
 * Step 4: the carrier's rate plan through the device's carrier (the older system accepted this
 * option and silently ignored it). Jasper answers at once (edit device details); ThingSpace answers
 * later, so its work orders wait (WAITING_CARRIER) for the callback or a status poll.
 */

export const STEP = 'carrier_rate_plan';
export const LOG_CARRIER = 'Carrier Rate Plan: Carrier API';

export interface CarrierStepDeps {
  db: Database;
  jasper: JasperClient;
  thingspace: ThingSpaceClient;
  accounts: IntegrationAccounts;
  policy: RetryPolicy;
  concurrency: number;
  /** Registers the CarrierService callback once per ThingSpace account (best effort). */
  ensureCallback: (credentialsId: number) => Promise<void>;
}

export interface CarrierStepResult extends StepResult {
  /** ThingSpace requests accepted; the work order waits for their outcome. */
  waiting: { id: number; requestId: string }[];
}

export async function runCarrierStep(
  deps: CarrierStepDeps,
  carrier: { integration: CarrierIntegration; credentialsId: number | null },
  plan: { ratePlan: string; communicationPlan?: string },
  items: WorkItem[],
  today: string,
): Promise<CarrierStepResult> {
  /** The device's effective date when it is after today: the carrier applies the change then. */
  const laterDate = (item: WorkItem) =>
    item.request.effectiveDate > today ? item.request.effectiveDate : undefined;
  const result: CarrierStepResult = { ...emptyResult(), waiting: [] };
  const todo = items.filter((item) => !item.stepsDone.includes(STEP));
  if (todo.length === 0) return result;
  if (carrier.credentialsId === null) {
    for (const item of todo) {
      result.failures.push({
        id: item.id,
        category: 'internal',
        message: 'The service provider has no carrier credentials: the carrier rate plan cannot be changed.',
        retryable: false,
      });
    }
    return result;
  }
  const credentialsId = carrier.credentialsId;

  if (carrier.integration === 'jasper') {
    const creds = await deps.accounts.jasper(credentialsId);
    await mapWithConcurrency(todo, deps.concurrency, async (item) => {
      const outcome = await withRetries(deps.policy, async ({ previousError }) => {
        // An earlier run (or attempt) may have changed the plan and lost the answer: look first,
        // and send nothing when Control Center already has the target plan. (A future-dated change
        // does not show until its date, so it is sent again: the same change on the same date.)
        const effectiveDate = laterDate(item);
        if ((item.attempts > 1 || previousError) && effectiveDate === undefined) {
          const found = await deps.jasper.getDevice(creds, item.iccid);
          const applied =
            found.value.ratePlan === plan.ratePlan &&
            (plan.communicationPlan === undefined ||
              found.value.communicationPlan === plan.communicationPlan);
          if (applied) return { exchange: found.exchange, adopted: true };
        }
        const edited = await deps.jasper.editDevice(creds, item.iccid, {
          ratePlan: plan.ratePlan,
          communicationPlan: plan.communicationPlan,
          effectiveDate,
        });
        return { exchange: edited.exchange, adopted: false };
      });
      if (outcome.ok) {
        result.succeeded.push(item.id);
        const description = outcome.value.adopted ? `${LOG_CARRIER} (found already applied)` : LOG_CARRIER;
        result.logs.push(logOf(item, description, outcome.value.exchange));
      } else {
        result.logs.push(logOf(item, LOG_CARRIER, outcome.error.exchange, outcome.error));
        result.failures.push(
          integrationFailure(item, outcome.error, outcome.retryable, 'Jasper rate plan not changed'),
        );
      }
    });
    return result;
  }

  const creds = await deps.accounts.thingspace(credentialsId);
  await deps.ensureCallback(credentialsId);
  await mapWithConcurrency(todo, deps.concurrency, async (item) => {
    // A plan change is idempotent at the carrier (same plan again), so a resend after a lost
    // answer does no harm beyond one of the device's four monthly changes.
    const effectiveDate = laterDate(item);
    const outcome = await withRetries(deps.policy, () =>
      deps.thingspace.changeServicePlan(creds, {
        iccid: item.iccid,
        servicePlan: plan.ratePlan,
        takeEffect: effectiveDate === undefined ? undefined : `${effectiveDate}T00:00:00Z`,
      }),
    );
    if (outcome.ok) {
      result.waiting.push({ id: item.id, requestId: outcome.value.value.requestId });
      result.logs.push(logOf(item, `${LOG_CARRIER} (request sent)`, outcome.value.exchange));
    } else {
      result.logs.push(logOf(item, LOG_CARRIER, outcome.error.exchange, outcome.error));
      result.failures.push(
        integrationFailure(item, outcome.error, outcome.retryable, 'ThingSpace plan change refused'),
      );
    }
  });
  return result;
}
