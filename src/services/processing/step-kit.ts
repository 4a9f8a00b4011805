import type {
  BulkChangeContextRow,
  ChunkContext,
  Failure,
  LogEntry,
  WorkItem,
} from '../../db/repositories/processing.repository.ts';
import type { Executor } from '../../db/database.ts';
import type { Exchange, IntegrationError } from '../../errors.ts';

/** What one step of a chunk produced: who moved on, who failed, and what to write in the change log. */
export interface StepResult {
  succeeded: number[];
  failures: Failure[];
  logs: LogEntry[];
  /**
   * Records of the external effects (Rev.io ids, a carrier plan on the device row), written in the
   * same transaction as the log entries and the steps done: an effect is never recorded without its
   * log, nor logged without its record.
   */
  record?: (trx: Executor) => Promise<void>;
}

export function emptyResult(): StepResult {
  return { succeeded: [], failures: [], logs: [] };
}

export function merge(into: StepResult, from: StepResult): StepResult {
  into.succeeded.push(...from.succeeded);
  into.failures.push(...from.failures);
  into.logs.push(...from.logs);
  return into;
}

/** Runs `fn` over `items` with at most `limit` in flight; external rate limits are the gate's job. */
export async function mapWithConcurrency<T, R>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  });
  await Promise.all(runners);
  return results;
}

export function logOf(
  item: WorkItem,
  description: string,
  exchange: Exchange | undefined,
  error?: { message: string },
): LogEntry {
  return {
    workOrderId: item.id,
    deviceId: item.deviceId,
    description,
    requestText: exchange
      ? `${exchange.method} ${exchange.url}${exchange.requestBody ? `\n${exchange.requestBody}` : ''}`
      : null,
    responseStatus: exchange?.status !== undefined ? String(exchange.status) : error ? 'no response' : null,
    responseText: exchange?.responseBody ?? null,
    hasError: error !== undefined,
    errorText: error?.message ?? null,
    system: exchange?.system ?? null,
  };
}

export function integrationFailure(
  item: WorkItem,
  error: IntegrationError,
  retryable: boolean,
  what: string,
): Failure {
  return { id: item.id, category: 'integration', message: `${what}: ${error.message}`, retryable };
}

export function contextOf(bc: BulkChangeContextRow, processedBy: string): ChunkContext {
  return {
    bulkChangeId: bc.id,
    tenantId: bc.tenant_id,
    portalType: bc.portal_type,
    customerId: bc.customer_id,
    createdBy: bc.created_by,
    submittedBy: bc.created_by_email,
    processedBy,
  };
}
