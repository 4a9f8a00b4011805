import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './schema.js';

/**
 * `simbind/client`: the typed API (`api`, openapi-fetch over the generated `paths`) plus helpers for
 * the usual script: submit an assignment, wait for it, read its devices, export them as CSV.
 */

export type { components, paths };

type BulkChangesPath = paths['/api/v1/bulk-changes'];
type DevicesPath = paths['/api/v1/bulk-changes/{id}/devices']['get'];
type JsonOf<R> = R extends { content: { 'application/json': infer T } } ? T : never;

export type AssignmentRequest = Omit<
  NonNullable<BulkChangesPath['post']['requestBody']>['content']['application/json'],
  'changeType' | 'dryRun'
>;
export type SubmittedBulkChange = JsonOf<BulkChangesPath['post']['responses'][202]>;
export type BulkChange = JsonOf<paths['/api/v1/bulk-changes/{id}']['get']['responses'][200]>;
export type BulkChangeStatus = BulkChange['status'];
export type WorkOrder = Extract<JsonOf<DevicesPath['responses'][200]>, { items: unknown[] }>['items'][number];
export type WorkOrderStatus = WorkOrder['status'];

export const FINAL_STATUSES: readonly BulkChangeStatus[] = [
  'PROCESSED',
  'PROCESSED_WITH_ERRORS',
  'ERROR',
  'CANCELLED',
];

/** An error answer of the API: `{ error: { code, message, details? } }` and its HTTP status. */
export class SimbindApiError extends Error {
  override readonly name = 'SimbindApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface SimbindClientOptions {
  /** Where simbind answers, e.g. `https://simbind.example.com` (no `/api/v1`). */
  baseUrl: string;
  /** An API token (`simbind token create --user …`). */
  token: string;
  fetch?: ClientOptions['fetch'];
}

export interface WaitOptions {
  /** Default 2 s. */
  intervalMs?: number;
  /** Default 30 min. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called with every status read, the final one included. */
  onProgress?: (bulkChange: BulkChange) => void;
}

export interface SubmitOptions {
  /** Default: a fresh UUID. Pass your own to make a re-run of your script a replay, not a new change. */
  idempotencyKey?: string;
  /** Tries in all for a lost answer or a 429/5xx. Default 3. */
  attempts?: number;
}

export type SimbindClient = ReturnType<typeof createSimbindClient>;

export function createSimbindClient(options: SimbindClientOptions) {
  const api: Client<paths> = createClient<paths>({
    baseUrl: options.baseUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  api.use({
    onRequest({ request }) {
      request.headers.set('authorization', `Bearer ${options.token}`);
      return request;
    },
  });

  async function getBulkChange(id: number, init: { signal?: AbortSignal } = {}): Promise<BulkChange> {
    const { data, error, response } = await api.GET('/api/v1/bulk-changes/{id}', {
      params: { path: { id } },
      ...init,
    });
    if (error !== undefined) throw apiError(response, error);
    return data;
  }

  return {
    api,
    getBulkChange,

    /**
     * Submits a customer assignment. The Idempotency-Key (a fresh UUID unless given) is sent again
     * on each retry of a lost answer or a 429/5xx, so the assignment is created at most once.
     */
    async submitAssignment(
      body: AssignmentRequest,
      { idempotencyKey = crypto.randomUUID(), attempts = 3 }: SubmitOptions = {},
    ): Promise<SubmittedBulkChange> {
      for (let attempt = 1; ; attempt += 1) {
        const last = attempt >= attempts;
        const result = await api
          .POST('/api/v1/bulk-changes', {
            body: { ...body, changeType: 'customer_assignment' },
            params: { header: { 'idempotency-key': idempotencyKey } },
          })
          .catch((error: unknown) => {
            // fetch rejects with a TypeError when the network fails: the request may have arrived.
            if (last || !(error instanceof TypeError)) throw error;
            return undefined;
          });
        if (result === undefined) {
          await sleep(backoffMs(attempt));
          continue;
        }
        const { data, error, response } = result;
        if (error !== undefined) {
          if (last || !(response.status === 429 || response.status >= 500)) throw apiError(response, error);
          await sleep(Math.max(backoffMs(attempt), retryAfterMs(response)));
          continue;
        }
        if (!('id' in data)) throw new Error(`expected 202 with a bulk change, got ${response.status}`);
        return data;
      }
    },

    /** Polls until the bulk change is final (PROCESSED, PROCESSED_WITH_ERRORS, ERROR, CANCELLED). */
    async waitForBulkChange(
      id: number,
      { intervalMs = 2000, timeoutMs = 30 * 60_000, signal, onProgress }: WaitOptions = {},
    ): Promise<BulkChange> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const bulkChange = await getBulkChange(id, signal ? { signal } : {});
        onProgress?.(bulkChange);
        if (FINAL_STATUSES.includes(bulkChange.status)) return bulkChange;
        if (Date.now() + intervalMs > deadline) {
          throw new Error(`bulk change ${id} is still ${bulkChange.status} after ${timeoutMs} ms`);
        }
        await sleep(intervalMs, signal);
      }
    },

    /** Every per-device result, following `nextCursor` page by page (`limit` per request). */
    async *bulkChangeDevices(
      id: number,
      { status, limit }: { status?: WorkOrderStatus; limit?: number } = {},
    ): AsyncGenerator<WorkOrder> {
      let cursor: string | undefined;
      do {
        const { data, error, response } = await api.GET('/api/v1/bulk-changes/{id}/devices', {
          params: { path: { id }, query: { status, limit, cursor } },
        });
        if (error !== undefined) throw apiError(response, error);
        // The route's schema also allows the CSV text (Accept: text/csv), which we never ask for here.
        if (typeof data === 'string') throw new Error('expected a JSON page of devices, got text');
        yield* data.items;
        cursor = data.nextCursor ?? undefined;
      } while (cursor !== undefined);
    },

    /** All per-device results as CSV (header line first), as the screen's download. */
    async exportDevicesCsv(id: number): Promise<string> {
      const { data, error, response } = await api.GET('/api/v1/bulk-changes/{id}/devices', {
        params: { path: { id } },
        headers: { accept: 'text/csv' },
        parseAs: 'text',
      });
      if (error !== undefined) throw apiError(response, error);
      return data;
    },
  };
}

function apiError(response: Response, body: unknown): SimbindApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    return new SimbindApiError(response.status, error.code, error.message, error.details);
  }
  // Not simbind's error shape: a proxy or load balancer answered.
  const text = typeof body === 'string' ? body.slice(0, 200) : '';
  return new SimbindApiError(response.status, `http_${response.status}`, text || response.statusText);
}

const backoffMs = (attempt: number) => 500 * 2 ** (attempt - 1) * (0.5 + Math.random());

function retryAfterMs(response: Response): number {
  const seconds = Number(response.headers.get('retry-after'));
  return Number.isFinite(seconds) ? seconds * 1000 : 0;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
