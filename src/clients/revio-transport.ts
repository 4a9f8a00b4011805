import { PermanentError } from '../errors.ts';
import {
  basicAuth,
  send,
  type Call,
  type CallObserver,
  type HttpRequest,
  type HttpResponse,
} from './http-client.ts';
import type { RateGate } from './rate-gate.ts';

/**
 * How every Rev.io call goes out: through the account's rate limit (500 a minute by default), with
 * Rev.io's headers, its list paging (`search.page` while `has_more`) and its error bodies. The
 * service lines (revio.client.ts) and the catalogue reads (revio-catalogue.client.ts) share it.
 */

export interface RevioCredentials {
  /** simbind's credentials row id: names the account in the shared rate limit. */
  id: string;
  /** e.g. `https://api.revioapi.com/v1`. */
  baseUrl: string;
  username: string;
  clientCode: string;
  password: string;
  subscriptionKey: string;
  /** Rev.io allows 500 requests per minute per account unless the contract says otherwise. */
  rateLimit?: { requests: number; windowMs: number };
}

export interface RevioClientDeps {
  gate: RateGate;
  timeoutMs: number;
  observe?: CallObserver;
}

export type WireRecord = Record<string, unknown>;

/** Function-valued, so the client may take them apart (`const { call } = transport`). */
export interface RevioTransport {
  call: <T>(
    creds: RevioCredentials,
    method: HttpRequest['method'],
    path: string,
    body?: WireRecord | string,
    contentType?: string,
  ) => Promise<HttpResponse<T>>;
  /** A POST whose answer must carry the new record's `id`. */
  create: (creds: RevioCredentials, path: string, body: WireRecord) => Promise<Call<number>>;
  /** Every record of a list, across pages; the exchange is the last page's. */
  listAll: <T>(
    creds: RevioCredentials,
    resource: string,
    search: Record<string, string | number | undefined>,
    map: (record: WireRecord) => T,
  ) => Promise<Call<T[]>>;
}

export const REVIO_SYSTEM = 'revio';
const DEFAULT_LIMIT = { requests: 500, windowMs: 60_000 };
/** Rev.io's largest page: a customer with 1,200 lines costs 3 requests of the 500-a-minute budget. */
export const REVIO_PAGE_SIZE = 500;

export function createRevioTransport(deps: RevioClientDeps): RevioTransport {
  async function call<T>(
    creds: RevioCredentials,
    method: HttpRequest['method'],
    path: string,
    body?: WireRecord | string,
    contentType?: string,
  ): Promise<HttpResponse<T>> {
    const limit = creds.rateLimit ?? DEFAULT_LIMIT;
    const release = await deps.gate.acquire({ key: `revio:${creds.id}`, ...limit });
    try {
      return await send<T>({
        system: REVIO_SYSTEM,
        // Rev.io's paths hold numeric ids only (`/Customers/42`): the pattern names the operation.
        operation: `${method} ${path.split('?')[0]!.replace(/\/\d+(?=\/|$)/g, '/:id')}`,
        observe: deps.observe,
        method,
        url: `${creds.baseUrl.replace(/\/+$/, '')}${path}`,
        headers: {
          authorization: basicAuth(`${creds.username}@${creds.clientCode}`, creds.password),
          'ocp-apim-subscription-key': creds.subscriptionKey,
          ...(contentType ? { 'content-type': contentType } : {}),
        },
        body,
        timeoutMs: deps.timeoutMs,
        describeError,
      });
    } finally {
      await release();
    }
  }

  async function create(creds: RevioCredentials, path: string, body: WireRecord): Promise<Call<number>> {
    const res = await call<unknown>(creds, 'POST', path, body);
    const id = (res.body as { id?: unknown } | undefined)?.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      throw unexpected(res, `no id in answer to POST ${path}`);
    }
    return { value: id, exchange: res.exchange };
  }

  /** Follows `has_more`; a page that claims more but brings nothing would loop forever, so it fails. */
  async function listAll<T>(
    creds: RevioCredentials,
    resource: string,
    search: Record<string, string | number | undefined>,
    map: (record: WireRecord) => T,
  ): Promise<Call<T[]>> {
    const out: T[] = [];
    for (let pageNo = 1; ; pageNo++) {
      const query = new URLSearchParams();
      for (const [name, value] of Object.entries(search)) {
        if (value !== undefined) query.set(`search.${name}`, String(value));
      }
      query.set('search.page', String(pageNo));
      query.set('search.page_size', String(REVIO_PAGE_SIZE));
      const res = await call<unknown>(creds, 'GET', `/${resource}?${query.toString()}`);
      const body = res.body as { has_more?: unknown; records?: unknown } | undefined;
      if (!Array.isArray(body?.records)) {
        throw unexpected(res, `no records in answer to GET /${resource}`);
      }
      out.push(...(body.records as WireRecord[]).map(map));
      if (body.has_more !== true) return { value: out, exchange: res.exchange };
      if (body.records.length === 0) {
        throw unexpected(res, `GET /${resource} page ${pageNo} is empty but has_more`);
      }
    }
  }

  return { call, create, listAll };
}

/**
 * Rev.io answers errors as `[{ ok, error, message }]`, its gateway as `{ statusCode, message }`,
 * and a proxy in front of it with HTML or plain text (then `send` falls back to the raw text).
 */
export function describeError(_status: number, body: unknown): { code?: string; message?: string } {
  const first: unknown = Array.isArray(body) ? body[0] : body;
  if (typeof first !== 'object' || first === null) return {};
  const { error, message } = first as { error?: unknown; message?: unknown };
  return {
    code: typeof error === 'string' ? error : undefined,
    message: typeof message === 'string' ? message : typeof error === 'string' ? error : undefined,
  };
}

/** A 2xx we cannot use: re-sending the same request would get the same answer. */
export function unexpected(res: HttpResponse<unknown>, problem: string): PermanentError {
  return new PermanentError(`${REVIO_SYSTEM} ${res.status}: ${problem}`, {
    system: REVIO_SYSTEM,
    status: res.status,
    exchange: res.exchange,
  });
}

export function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
