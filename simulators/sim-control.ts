import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The control API every simulator shares:
 *   GET  /__sim/requests   what the simulator received (newest last), `?path=` prefix filter
 *   POST /__sim/reset      forget requests and faults, and reset the simulator's own state
 *   POST /__sim/faults     add fault rules (body: FaultRule or FaultRule[]); GET lists them
 *   DELETE /__sim/faults   clear fault rules only
 *
 * Fault rules apply to non-control requests whose method and path match. `commitThenDrop` lets the
 * handler run (the create happens) and then destroys the socket before the answer is written: the
 * case where a naive client retry creates a duplicate.
 */

export interface FaultRule {
  /** Upper-case HTTP method to match; any when absent. */
  method?: string;
  /** Path prefix to match (without query string); any when absent. */
  path?: string;
  /** Answer with this status (and the simulator's error body) instead of running the handler. */
  status?: number;
  /** `Retry-After` seconds sent with `status`. */
  retryAfterSeconds?: number;
  /** Delay before handling, in ms. */
  latencyMs?: number;
  /** Never answer: hold the request until the client gives up (or the simulator resets/closes). */
  hang?: boolean;
  /** Run the handler, then drop the connection instead of answering. */
  commitThenDrop?: boolean;
  /** Probability (0–1) that a matching request is affected; default 1. */
  rate?: number;
  /** Affect at most this many requests, then the rule retires; unlimited when absent. */
  count?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  status: number | undefined;
  at: string;
  /** The faults applied to it (`latency`, `hang`, `commitThenDrop`, `status`), so a test can tell a lost answer. */
  faults: string[];
}

export interface SimControlOptions {
  /** The system's own error body for a given status, so injected errors look like real ones. */
  errorBody: (status: number) => unknown;
  /** Resets the simulator's domain state. */
  onReset: () => void;
}

interface ActiveRule extends FaultRule {
  used: number;
}

const CONTROL_PREFIX = '/__sim/';

export function registerSimControl(app: FastifyInstance, options: SimControlOptions): void {
  const requests: RecordedRequest[] = [];
  let rules: ActiveRule[] = [];
  const hanging = new Set<() => void>();
  const recordOf = new WeakMap<FastifyRequest, RecordedRequest>();
  const dropAfterHandler = new WeakSet<FastifyRequest>();

  const releaseHanging = () => {
    for (const release of hanging) release();
    hanging.clear();
  };

  app.addHook('onClose', async () => releaseHanging());

  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? request.url;
    if (path.startsWith(CONTROL_PREFIX)) return;

    const record: RecordedRequest = {
      method: request.method,
      path,
      query: { ...(request.query as Record<string, unknown>) },
      headers: { ...request.headers },
      body: request.body,
      status: undefined,
      at: new Date().toISOString(),
      faults: [],
    };
    requests.push(record);
    recordOf.set(request, record);

    for (const rule of rules) {
      if (!matches(rule, request.method, path)) continue;
      if (rule.rate !== undefined && Math.random() >= rule.rate) continue;
      rule.used += 1;
      if (rule.latencyMs) record.faults.push('latency');
      if (rule.latencyMs) await sleep(rule.latencyMs);
      if (rule.hang) {
        record.faults.push('hang');
        await new Promise<void>((resolve) => hanging.add(resolve));
        request.raw.socket.destroy();
        return reply;
      }
      if (rule.commitThenDrop) {
        record.faults.push('commitThenDrop');
        dropAfterHandler.add(request);
      }
      if (rule.status !== undefined) {
        record.faults.push('status');
        if (rule.retryAfterSeconds !== undefined) reply.header('retry-after', String(rule.retryAfterSeconds));
        return reply.code(rule.status).send(options.errorBody(rule.status));
      }
    }
    rules = rules.filter((rule) => rule.count === undefined || rule.used < rule.count);
    return undefined;
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const record = recordOf.get(request);
    if (record) record.status = reply.statusCode;
    if (dropAfterHandler.has(request)) {
      // The handler has already committed its effect; the client never learns of it.
      request.raw.socket.destroy();
    }
    return payload;
  });

  app.get('/__sim/requests', async (request) => {
    const { path } = request.query as { path?: string };
    return path ? requests.filter((r) => r.path.startsWith(path)) : requests;
  });

  app.post('/__sim/reset', async () => {
    requests.length = 0;
    rules = [];
    releaseHanging();
    options.onReset();
    return { ok: true };
  });

  app.get('/__sim/faults', async () => rules);

  app.post('/__sim/faults', async (request) => {
    const body = request.body as FaultRule | FaultRule[];
    const added = (Array.isArray(body) ? body : [body]).map((rule) => ({
      ...rule,
      method: rule.method?.toUpperCase(),
      used: 0,
    }));
    rules.push(...added);
    return { ok: true, rules };
  });

  app.delete('/__sim/faults', async () => {
    rules = [];
    releaseHanging();
    return { ok: true };
  });
}

function matches(rule: ActiveRule, method: string, path: string): boolean {
  if (rule.count !== undefined && rule.used >= rule.count) return false;
  if (rule.method && rule.method !== method) return false;
  if (rule.path && !path.startsWith(rule.path)) return false;
  return true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
