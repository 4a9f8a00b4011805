import type { Executor } from '../../db/database.ts';
import * as bulkChanges from '../../db/repositories/bulk-change.repository.ts';
import { MESSAGES } from './eligibility.ts';
import type { AssignmentRequest } from './request.ts';
import type { JudgedDevice } from './validation.ts';

/**
 * A submission's work orders, written slice by slice in its transaction as validation judges them:
 * one slice is inserted by PostgreSQL while Node judges the next (and a second connection reads
 * the one after). Judging all 100,000 devices and then inserting them left each side idle while
 * the other worked (issue 13, B1 and B3).
 *
 * So a submission holds its transaction's connection while its reads take another from the pool:
 * as many submissions at once as the pool has connections would hold them all and wait for ever.
 * `writeSlots` lets one fewer write at once in a process, so a connection is always left for the
 * reads (every other holder of a connection gives it back without waiting for another).
 */

/** At most `slots` holders at once; the others wait, in order. */
export function writeSlots(slots: number) {
  let free = slots;
  const waiting: (() => void)[] = [];
  return async function inSlot<T>(work: () => Promise<T>): Promise<T> {
    if (free > 0) free -= 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free += 1;
    }
  };
}

export interface WrittenWorkOrders {
  counts: bulkChanges.StatusCounts;
  /** The chunks with pending work, in order: one queue job each. */
  chunks: number[];
}

export async function writeWorkOrders(
  trx: Executor,
  ctx: bulkChanges.WorkOrderContext,
  judge: <T>(collect: (device: JudgedDevice) => T) => AsyncGenerator<T[]>,
  chunkSize: number,
  today: string,
  request: Pick<AssignmentRequest, 'effectiveDate'>,
): Promise<WrittenWorkOrders> {
  const counts = bulkChanges.emptyCounts();
  const chunks = new Set<number>();
  let eligibleIndex = 0;
  const orderOf = ({ identifier, candidate, verdict }: JudgedDevice): bulkChanges.NewWorkOrder => ({
    identifier,
    deviceId: candidate?.deviceId ?? null,
    iccid: candidate?.iccid ?? null,
    msisdn: candidate?.msisdn ?? null,
    status: verdict.eligible ? 'PENDING' : 'ERROR',
    errorCategory: verdict.eligible ? null : verdict.category,
    message: verdict.eligible ? null : verdict.message,
    chunk: verdict.eligible ? Math.floor(eligibleIndex++ / chunkSize) : null,
    effectiveDate: request.effectiveDate ?? candidate?.activatedAt ?? today,
  });

  const write = async (orders: bulkChanges.NewWorkOrder[]) => {
    const lost = new Set(await bulkChanges.insertWorkOrders(trx, ctx, orders));
    if (lost.size > 0) {
      // Another bulk change took these devices between our read and our write.
      const losers = orders.filter((o) => lost.has(o.identifier));
      await bulkChanges.insertConflictWorkOrders(trx, ctx, losers, MESSAGES.conflictTemplate);
      for (const order of losers) order.status = 'ERROR';
    }
    for (const order of orders) {
      counts.total += 1;
      if (order.status === 'PENDING') {
        counts.pending += 1;
        chunks.add(order.chunk!);
      } else {
        counts.error += 1;
      }
    }
  };

  // One slice's insert in flight at a time, on the transaction's connection.
  let writing: Promise<void> = Promise.resolve();
  try {
    for await (const orders of judge(orderOf)) {
      await writing;
      writing = write(orders);
      // Awaited in its turn; until then a failure must not count as unhandled.
      writing.catch(() => undefined);
    }
    await writing;
  } catch (error) {
    // A failed judgement still waits for the insert in flight: the transaction ends after it.
    await writing.catch(() => undefined);
    throw error;
  }
  return { counts, chunks: [...chunks].sort((a, b) => a - b) };
}
