import type { Executor } from '../database.ts';

export interface StatusCount {
  status: string;
  count: number;
}

export async function countBulkChangesByStatus(db: Executor): Promise<StatusCount[]> {
  return db
    .selectFrom('bulk_change')
    .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
    .groupBy('status')
    .orderBy('status')
    .execute();
}

/** Open work orders only: finished ones only grow, and counting them all scans the table. */
export async function countWorkOrdersByStatus(db: Executor): Promise<StatusCount[]> {
  return db
    .selectFrom('bulk_change_device')
    .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
    .where('status', 'in', ['PENDING', 'PROCESSING', 'WAITING_CARRIER'])
    .groupBy('status')
    .orderBy('status')
    .execute();
}
