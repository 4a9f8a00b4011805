import { request } from 'undici';
import {
  MAX_PLAN_CHANGES_PER_MONTH,
  TS_FAULTS,
  type FaultResponse,
  type SimPlanChange,
  type ThingSpaceState,
} from './state.ts';

/**
 * ThingSpace answers a plan change with a `requestId` only; the outcome is decided later. This
 * module plays that back office: after `asyncDelayMs` it settles the request (all its devices or
 * none) and POSTs the result to the account's `CarrierService` callback, recording the delivery.
 */

export interface PlanChangeOptions {
  asyncDelayMs: number;
  /** When set, any other plan code fails with `ServicePlanChange.InvalidServicePlan`. */
  knownPlans: readonly string[] | undefined;
  callbackTimeoutMs: number;
}

export function createPlanChangeProcessor(state: ThingSpaceState, options: PlanChangeOptions) {
  const timers = new Set<NodeJS.Timeout>();
  /** `never`: accepted requests stay Pending, with no callback (a carrier that never confirms). */
  let settling: 'auto' | 'never' = 'auto';
  const deliveries = new Set<AbortController>();

  const settle = (change: SimPlanChange) => {
    const fault = change.iccids
      .map((iccid) => faultFor(iccid, change.servicePlan))
      .find((f) => f !== undefined);
    if (fault) {
      change.status = 'Failed';
      change.faultResponse = fault;
    } else {
      const today = new Date().toISOString().slice(0, 10);
      for (const iccid of change.iccids) {
        const device = state.device(iccid);
        if (!device) continue;
        // Accepted now, in force from `takeEffect` when that is a later day.
        if (change.takeEffect !== undefined && change.takeEffect.slice(0, 10) > today) {
          device.scheduledPlan = { servicePlan: change.servicePlan, takeEffect: change.takeEffect };
        } else {
          device.servicePlan = change.servicePlan;
        }
        device.planChangesThisMonth += 1;
      }
      change.status = 'Success';
    }
    change.resolvedAt = new Date().toISOString();
  };

  const faultFor = (iccid: string, servicePlan: string): FaultResponse | undefined => {
    const device = state.device(iccid);
    if (!device)
      return { faultcode: TS_FAULTS.deviceNotActive, faultstring: `Device ${iccid} no longer exists.` };
    if (device.state !== 'active') {
      return {
        faultcode: TS_FAULTS.deviceNotActive,
        faultstring: `Device ${iccid} is in state '${device.state}'; the service plan can only be changed on an active device.`,
      };
    }
    if (device.planChangesThisMonth >= MAX_PLAN_CHANGES_PER_MONTH) {
      return {
        faultcode: TS_FAULTS.monthlyLimit,
        faultstring: `Device ${iccid} already had ${MAX_PLAN_CHANGES_PER_MONTH} service plan changes this month.`,
      };
    }
    if (options.knownPlans && !options.knownPlans.includes(servicePlan)) {
      return {
        faultcode: TS_FAULTS.unknownPlan,
        faultstring: `Service plan '${servicePlan}' is not valid for this account.`,
      };
    }
    return undefined;
  };

  const deliver = async (change: SimPlanChange) => {
    const url = state.callbackUrl(change.accountName, 'CarrierService');
    if (url === undefined) return;
    const payload = {
      requestId: change.requestId,
      deviceIds: change.deviceIds.flat(),
      status: change.status,
      ...(change.faultResponse ? { faultResponse: change.faultResponse } : {}),
    };
    const controller = new AbortController();
    deliveries.add(controller);
    const at = new Date().toISOString();
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(options.callbackTimeoutMs)]),
      });
      await res.body.dump();
      state.recordDelivery({
        requestId: change.requestId,
        url,
        status: res.statusCode,
        error: undefined,
        at,
      });
    } catch (error) {
      if (controller.signal.aborted) return; // stopped by a reset or close: nothing to record
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      state.recordDelivery({ requestId: change.requestId, url, status: undefined, error: message, at });
    } finally {
      deliveries.delete(controller);
    }
  };

  return {
    submit(change: SimPlanChange): void {
      state.addRequest(change);
      if (settling === 'never') return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (change.status !== 'Pending') return; // settled already by `settlePending`
        settle(change);
        void deliver(change);
      }, options.asyncDelayMs);
      timers.add(timer);
    },

    setSettling(mode: 'auto' | 'never'): void {
      settling = mode;
    },

    /** Settles every request still Pending at once (delivering its callback); returns how many. */
    settlePending(): number {
      const pending = state.snapshot().requests.filter((change) => change.status === 'Pending');
      for (const change of pending) {
        settle(change);
        void deliver(change);
      }
      return pending.length;
    },

    /** Forgets pending work (reset, close) so no timer or delivery outlives the simulator. */
    stop(): void {
      settling = 'auto';
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const controller of deliveries) controller.abort();
    },
  };
}
