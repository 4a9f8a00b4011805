import type { Failure, LogEntry, WorkItem } from '../../db/repositories/processing.repository.ts';
import * as revServices from '../../db/repositories/rev-service.repository.ts';
import type { StepResult } from './step-kit.ts';

/**
 * The Rev.io step device by device: what each device's calls produced, and handing finished
 * devices over while the others still wait for Rev.io (issue 15: 860 devices sat at 0 for 2.5
 * minutes while their group made its calls at Rev.io's pace).
 */

/** What the Rev.io step did for one device. */
export interface DeviceOutcome {
  item: WorkItem;
  logs: LogEntry[];
  /** Set when the device failed (its service, or one of its products). */
  failure?: Failure;
  /** A service created (or found) by this run, to record on its intent. */
  service?: { intentId: number; serviceId: number | null };
  products: { intentId: number; serviceProductId: number | null }[];
}

/**
 * The step's result for these devices: their logs, failures and successes, and the records of
 * their intents, written by the caller in the transaction of their log entries.
 */
export function resultOf(outcomes: DeviceOutcome[]): StepResult {
  const serviceResults = outcomes.flatMap((o) => (o.service ? [o.service] : []));
  const productResults = outcomes.flatMap((o) => o.products);
  const failures = outcomes.flatMap((o) => (o.failure ? [o.failure] : []));
  return {
    succeeded: outcomes.filter((o) => !o.failure).map((o) => o.item.id),
    failures,
    logs: outcomes.flatMap((o) => o.logs),
    // A kill before the caller commits leaves the intents pending: the next run finds and adopts
    // what was created. Intents of failed devices are withdrawn (those with a created service
    // were recorded 'created' just before, which withdrawing leaves alone).
    record: async (trx) => {
      await revServices.recordServiceResults(trx, serviceResults);
      await revServices.withdrawServiceIntents(
        trx,
        failures.map((f) => f.id),
      );
      await revServices.recordProductResults(trx, productResults);
    },
  };
}

/** Takes the devices whose Rev.io step ended (their part of the result) through their next steps. */
export type HandOver = (part: StepResult, items: WorkItem[]) => Promise<void>;

/**
 * Collects finished devices; with `handOver`, passes them on in batches: a device waits at most
 * `everyMs` (the first of a batch starts a timer), batches go one at a time in the order they
 * were made. Without `handOver`, it only collects. `close()` waits for the batches handed over
 * (rethrowing the first failure: the chunk is retried, and every batch committed before it stays
 * done) and returns the devices not handed over.
 */
export function collectOutcomes(handOver: HandOver | undefined, everyMs: number) {
  let pending: DeviceOutcome[] = [];
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  const handedOver = new Set<number>();

  function flush(): void {
    clearTimeout(timer);
    timer = undefined;
    if (!handOver || pending.length === 0) return;
    const batch = pending;
    pending = [];
    for (const o of batch) handedOver.add(o.item.id);
    chain = chain.then(() =>
      handOver(
        resultOf(batch),
        batch.map((o) => o.item),
      ),
    );
    // Awaited by close(); until then a failure must not count as unhandled.
    chain.catch(() => undefined);
  }

  return {
    handedOver,
    done(outcome: DeviceOutcome): void {
      pending.push(outcome);
      if (handOver && timer === undefined) timer = setTimeout(flush, everyMs);
    },
    async close(): Promise<DeviceOutcome[]> {
      clearTimeout(timer);
      timer = undefined;
      await chain;
      const rest = pending;
      pending = [];
      return rest;
    },
  };
}
