import { PassThrough } from 'node:stream';
import { Type } from '@fastify/type-provider-typebox';
import type { TypedApp } from '../app.ts';
import { principalOf } from '../auth.ts';
import { errorResponses, IdParams, UNAUTHENTICATED } from '../schemas/common.schemas.ts';
import type { Services } from '../../wiring.ts';
import { RateLimitedError } from '../../errors.ts';
import { FINAL_STATUSES, progressOf, type Progress } from '../../services/bulk-change-events.service.ts';

/**
 * GET /bulk-changes/:id/events: a bulk change's progress as Server-Sent Events, for a screen's
 * `EventSource` (it sends the session cookie). Bounded: a few streams per user and process, a
 * maximum life (the browser reconnects after `retry`), a heartbeat that keeps proxies from
 * closing a quiet stream, and every stream ended when the server closes (not waited for).
 */

export interface EventStreamLimits {
  /** Streams one user may hold open in this process; past it, 429 (the screen polls instead). */
  perUser: number;
  /** A stream ends after this long; the browser reconnects after `retryMs`. */
  maxLifeMs: number;
  heartbeatMs: number;
  retryMs: number;
}

export const EVENT_STREAM_LIMITS: EventStreamLimits = {
  // Browsers allow 6 connections per host over HTTP/1.1: a user's streams must leave room for the rest.
  perUser: 4,
  maxLifeMs: 10 * 60_000,
  heartbeatMs: 15_000,
  retryMs: 3_000,
};

const EVENTS_DESCRIPTION = `\`text/event-stream\`. First \`retry: 3000\`, then:
- \`event: progress\`, \`data: { id, status, counts, startedAt, completedAt, cancelRequestedAt }\`: at once,
  then whenever the status or a count changes (the server looks once a second); \`counts\` as in
  \`GET /bulk-changes/:id\` (\`cancelled\` apart from \`processed\`);
- \`: heartbeat\` comment lines every 15 s;
- once the status is final: \`event: final\`, \`data\`: the bulk change exactly as \`GET /bulk-changes/:id\`
  answers it; then the stream ends. Close the EventSource on \`final\`, or it reconnects and gets
  \`final\` again.
A stream ends after 10 minutes (the EventSource reconnects), and when the server stops.`;

export function bulkChangeEventsRoutes(
  app: TypedApp,
  services: Services,
  limits: EventStreamLimits = EVENT_STREAM_LIMITS,
): void {
  const { bulkChangeEvents } = services;
  const open = new Set<() => void>();
  const perUser = new Map<number, number>();
  // Before the server waits for its connections: an open stream never delays a shutdown.
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });

  app.get(
    '/bulk-changes/:id/events',
    {
      schema: {
        tags: ['bulk changes'],
        operationId: 'streamBulkChangeEvents',
        summary: "A bulk change's live progress (Server-Sent Events)",
        description: EVENTS_DESCRIPTION,
        params: IdParams,
        response: {
          200: {
            description: 'The event stream.',
            content: { 'text/event-stream': { schema: Type.String({ description: EVENTS_DESCRIPTION }) } },
          },
          ...errorResponses({
            400: 'The id is not a positive integer.',
            401: UNAUTHENTICATED,
            404: 'No such bulk change among the customers the caller may access.',
            429: `The caller has ${limits.perUser} streams open already (\`Retry-After\` says when to try again): poll \`GET /bulk-changes/:id\` meanwhile.`,
          }),
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const first = await bulkChangeEvents.snapshot(principal, request.params.id);
      const held = perUser.get(principal.userId) ?? 0;
      if (held >= limits.perUser) {
        throw new RateLimitedError(
          `At most ${limits.perUser} live progress streams per user; close one, or poll instead.`,
          Math.ceil(limits.retryMs / 1000),
        );
      }
      perUser.set(principal.userId, held + 1);

      const stream = new PassThrough();
      let unwatch: (() => void) | undefined;
      let lastSent = '';
      let ended = false;
      const send = (text: string) => {
        if (!ended) stream.write(text);
      };
      const sendProgress = (progress: Progress) => {
        const data = JSON.stringify(progress);
        if (data === lastSent) return;
        lastSent = data;
        send(`event: progress\ndata: ${data}\n\n`);
      };

      const end = () => {
        if (ended) return;
        ended = true;
        open.delete(end);
        unwatch?.();
        clearInterval(heartbeat);
        clearTimeout(life);
        const left = (perUser.get(principal.userId) ?? 1) - 1;
        if (left > 0) perUser.set(principal.userId, left);
        else perUser.delete(principal.userId);
        stream.end();
      };
      const finish = async () => {
        try {
          send(
            `event: final\ndata: ${JSON.stringify(await bulkChangeEvents.snapshot(principal, first.id))}\n\n`,
          );
        } catch (error) {
          request.log.warn({ err: error }, 'final event not sent');
        }
        end();
      };

      open.add(end);
      const heartbeat = setInterval(() => send(': heartbeat\n\n'), limits.heartbeatMs);
      const life = setTimeout(end, limits.maxLifeMs);
      // The browser went away (tab closed, navigation, network).
      reply.raw.on('close', end);

      send(`retry: ${limits.retryMs}\n\n`);
      sendProgress(progressOf(first));
      if (FINAL_STATUSES.includes(first.status)) {
        send(`event: final\ndata: ${JSON.stringify(first)}\n\n`);
        end();
      } else {
        unwatch = bulkChangeEvents.watch(first.id, (progress) => {
          sendProgress(progress);
          if (FINAL_STATUSES.includes(progress.status)) {
            unwatch?.();
            void finish();
          }
        });
      }

      return (
        reply
          .header('content-type', 'text/event-stream; charset=utf-8')
          .header('cache-control', 'no-cache, no-transform')
          // The connection ends with its stream: none lingers as an idle keep-alive connection that
          // a closing server waits for (measured: 68 s, the keep-alive timeout, after a stream ended
          // by a shutdown). A browser reconnects on a new connection anyway.
          .header('connection', 'close')
          // nginx and the like: pass each event on at once.
          .header('x-accel-buffering', 'no')
          // A stream bypasses the response schema; the typed reply only knows the JSON shapes.
          .send(stream as never)
      );
    },
  );
}
