import { PermanentError } from '../errors.ts';
import { basicAuth, send, type CallObserver, type HttpRequest, type HttpResponse } from './http-client.ts';
import type { AccountLimit, RateGate } from './rate-gate.ts';

/**
 * How every Control Center (Jasper) call goes out: one call at a time per account and 5 per second
 * (the rate gate, keyed `jasper:<id>`), with its Basic auth and its error bodies. The devices
 * (jasper.client.ts) and the catalogue reads (jasper-catalogue.client.ts) share it.
 */

export const JASPER_SYSTEM = 'jasper';

export interface JasperCredentials {
  /** Our id for this credential set; names the rate-limit key. */
  id: string;
  /** e.g. `https://restapi3.jasper.com/rws/api/v1` */
  baseUrl: string;
  username: string;
  apiKey: string;
  /** Default 5 per 1,000 ms, concurrency 1. */
  rateLimit?: { requests: number; windowMs: number; concurrency?: number };
}

export interface JasperClientDeps {
  gate: RateGate;
  timeoutMs: number;
  observe?: CallObserver;
}

/** `operation`: the path's pattern (`/devices/:iccid`), never an id; `path` is under the base URL. */
export type JasperRequest = Pick<HttpRequest, 'method' | 'body' | 'operation'> & { path: string };

export type JasperCall = (creds: JasperCredentials, req: JasperRequest) => Promise<HttpResponse<unknown>>;

export function createJasperTransport(deps: JasperClientDeps): JasperCall {
  return async (creds, req) => {
    const release = await deps.gate.acquire(limitFor(creds));
    try {
      return await send({
        system: JASPER_SYSTEM,
        operation: req.operation,
        observe: deps.observe,
        method: req.method,
        url: `${creds.baseUrl.replace(/\/+$/, '')}${req.path}`,
        headers: { authorization: basicAuth(creds.username, creds.apiKey) },
        body: req.body,
        timeoutMs: deps.timeoutMs,
        describeError,
      });
    } finally {
      await release();
    }
  };
}

/** A 2xx we cannot use: re-sending the same request would get the same answer. */
export function unexpectedAnswer(res: HttpResponse<unknown>, problem: string): PermanentError {
  return new PermanentError(`${JASPER_SYSTEM} ${res.status}: ${problem}`, {
    system: JASPER_SYSTEM,
    status: res.status,
    exchange: res.exchange,
  });
}

function limitFor(creds: JasperCredentials): AccountLimit {
  const { requests = 5, windowMs = 1000, concurrency = 1 } = creds.rateLimit ?? {};
  return { key: `${JASPER_SYSTEM}:${creds.id}`, requests, windowMs, concurrency };
}

function describeError(_status: number, body: unknown): { code?: string; message?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const { errorCode, errorMessage } = body as { errorCode?: unknown; errorMessage?: unknown };
  return {
    code: typeof errorCode === 'string' || typeof errorCode === 'number' ? String(errorCode) : undefined,
    message: typeof errorMessage === 'string' ? errorMessage : undefined,
  };
}
