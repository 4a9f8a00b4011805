import type { FastifyInstance, FastifyRequest } from 'fastify';
import { loadConfig } from '../src/config.ts';
import type { DatabaseHandle } from '../src/db/database.ts';
import { insertApiToken } from '../src/db/repositories/auth.repository.ts';
import { buildApp } from '../src/http/app.ts';
import { startQueue } from '../src/jobs/queue.ts';
import { generateApiToken } from '../src/services/api-tokens.ts';
import { createServices } from '../src/wiring.ts';

/**
 * The real HTTP API, started in this process on a loopback port over a benchmark's database (no
 * worker: submitted jobs stay queued), and a token of the demo's northwind administrator. What a
 * benchmark measures through it is what a client measures: request sent → whole body read.
 */
export interface BenchServer {
  /** `http://127.0.0.1:PORT/api/v1` */
  api: string;
  /**
   * Where the server spent each request's time, in ms, by phase: body (read and JSON parse), schema
   * (ajv), handler (the service), serialize, send. Keyed by "METHOD path"; cleared by the caller.
   */
  phases: Map<string, Record<Phase, number>[]>;
  headers: Record<string, string>;
  close: () => Promise<void>;
}

export async function startBenchServer(handle: DatabaseHandle, url: string): Promise<BenchServer> {
  const config = loadConfig({ LOG_LEVEL: 'silent' });
  const queue = await startQueue({ connectionString: url, pollSeconds: 1, supervise: false });
  const services = createServices({ config, database: handle, queue });
  const app = await buildApp({
    services,
    cookieSecret: 'bench-cookie-secret-0123456789abcdef',
    logLevel: 'silent',
  });
  const phases = new Map<string, Record<Phase, number>[]>();
  recordPhases(app, phases);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    api: `${address}/api/v1`,
    phases,
    headers: await tokenHeaders(handle, 'admin@northwind.example'),
    close: async () => {
      await app.close();
      await queue.stop();
    },
  };
}

export type Phase = 'body' | 'schema' | 'handler' | 'serialize' | 'send';

/** Fastify's hooks in their order: each phase is the time between two of them. */
function recordPhases(app: FastifyInstance, phases: BenchServer['phases']): void {
  const marks = new WeakMap<object, Record<string, number>>();
  const mark = (name: string) => async (request: FastifyRequest) => {
    const at = marks.get(request) ?? {};
    at[name] = performance.now();
    marks.set(request, at);
  };
  app.addHook('preParsing', mark('preParsing'));
  app.addHook('preValidation', mark('preValidation'));
  app.addHook('preHandler', mark('preHandler'));
  app.addHook('preSerialization', async (request, _reply, payload) => {
    await mark('preSerialization')(request);
    return payload;
  });
  app.addHook('onSend', async (request, _reply, payload) => {
    await mark('onSend')(request);
    return payload;
  });
  app.addHook('onResponse', async (request) => {
    const at = marks.get(request);
    if (!at?.preParsing || !at.preHandler) return;
    const handled = at.preSerialization ?? at.onSend!;
    const key = `${request.method} ${request.routeOptions.url ?? request.url}`;
    const list = phases.get(key) ?? [];
    list.push({
      body: at.preValidation! - at.preParsing,
      schema: at.preHandler - at.preValidation!,
      handler: handled - at.preHandler,
      serialize: at.onSend! - handled,
      send: performance.now() - at.onSend!,
    });
    phases.set(key, list);
  });
}

/** An API token of the user with this e-mail, as request headers. */
export async function tokenHeaders(handle: DatabaseHandle, email: string): Promise<Record<string, string>> {
  const user = await handle.db
    .selectFrom('app_user')
    .select(['id', 'tenant_id'])
    .where('email', '=', email)
    .executeTakeFirstOrThrow();
  const { token, hash, prefix } = generateApiToken();
  await insertApiToken(handle.db, {
    tenantId: user.tenant_id,
    userId: user.id,
    name: 'bench',
    tokenHash: hash,
    tokenPrefix: prefix,
  });
  return { authorization: `Bearer ${token}` };
}

/** One request, timed from sending to the last byte of the body; a status other than `expect` throws. */
export async function timedRequest(
  url: string,
  init: RequestInit & { expect?: number } = {},
): Promise<{ ms: number; body: string; bytes: number }> {
  const started = performance.now();
  const response = await fetch(url, init);
  const body = await response.text();
  const elapsed = performance.now() - started;
  const expect = init.expect ?? 200;
  if (response.status !== expect) {
    throw new Error(
      `${init.method ?? 'GET'} ${url}: ${response.status} (expected ${expect}) ${body.slice(0, 300)}`,
    );
  }
  return { ms: elapsed, body, bytes: Buffer.byteLength(body) };
}

/** The q-th quantile (0…1) of some durations, nearest rank. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** Milliseconds with one decimal, for printing and results.json. */
export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
