import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.ts';

/**
 * Request ids and request metrics. Every log line of a request carries its id (`reqId`), and the
 * answer echoes it as `X-Request-Id`, so a user's report, the proxy's log and simbind's log meet.
 */

/** What an incoming id may look like to be kept (a proxy's or a load balancer's); else a new one. */
const INCOMING_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Fastify's `genReqId`: the caller's `X-Request-Id` when it is a plain token (a proxy in front
 * sets one, and its log line then matches ours), else a random UUID — unique across processes,
 * unlike Fastify's default counter (`req-1` in every process).
 */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && INCOMING_ID.test(given) ? given : randomUUID();
}

export function registerRequestObservability(
  app: FastifyInstance,
  metrics: Pick<Metrics, 'httpRequest'>,
): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // The route's pattern (`/api/v1/bulk-changes/:id`), never the URL: one series per route, and no
  // id or secret path segment (the callback token) in a label. Unmatched URLs share one series.
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequest({
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      statusCode: reply.statusCode,
      seconds: reply.elapsedTime / 1000,
    });
  });
}
