import { createMailClient, type MailClient } from '../clients/mail.client.ts';
import { RESPONSE_EXCERPT, type WebhookClient } from '../clients/webhook.client.ts';
import type { Config } from '../config.ts';
import type { Database, Executor } from '../db/database.ts';
import type { StatusCounts } from '../db/repositories/bulk-change.repository.ts';
import * as repo from '../db/repositories/notification.repository.ts';
import type { LockedDelivery } from '../db/repositories/notification.repository.ts';
import { isIntegrationError, RetryableError } from '../errors.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { createSecretBox, webhookSecretScope, type SecretBox } from './secret-box.ts';

/**
 * Completion notifications: a signed `bulk_change.completed` webhook to each of the tenant's
 * subscribed endpoints and an e-mail to the submitter. The finish step writes one delivery row per
 * recipient inside its own transaction, so notifications exist if and only if the bulk change
 * finished; `notification.deliver` jobs then make one attempt each, and pg-boss's retries with
 * backoff are the retry policy. The rows are the delivery log: status, attempts, last error.
 */

export const COMPLETED_EVENT = 'bulk_change.completed';

export type CompletionStatus = 'PROCESSED' | 'PROCESSED_WITH_ERRORS' | 'ERROR' | 'CANCELLED';

/** The work orders of a bulk change by status, as the API reports them. */
export type CompletionCounts = StatusCounts;

export interface CompletionEvent {
  tenantId: number;
  bulkChangeId: number;
  status: CompletionStatus;
  counts: CompletionCounts;
  startedAt: string | null;
  completedAt: string;
  submitter: { id: number; name: string; email: string };
}

/** What a receiver gets, stored as the delivery's payload. */
export interface CompletionMessage {
  event: typeof COMPLETED_EVENT;
  deliveryId: number;
  occurredAt: string;
  data: {
    id: number;
    status: CompletionStatus;
    counts: CompletionCounts;
    startedAt: string | null;
    completedAt: string;
    links: { self: string; devices: string; logs: string };
  };
}

export interface NotificationService {
  /**
   * Called INSIDE the finish transaction (`executor`): writes the deliveries and enqueues their
   * jobs through it, so a rollback leaves neither. A second call for the same bulk change adds nothing.
   */
  enqueueCompletion(executor: Executor, event: CompletionEvent): Promise<void>;
  /**
   * One attempt of one delivery, recorded. Throws on a transient failure so that the queue retries
   * with backoff, except on the last allowed attempt (then `failed`); permanent failures are
   * `failed` without a throw; an already delivered or failed notification is left alone.
   * `once`: this attempt is the only one (a test send): any failure is final, nothing is thrown.
   */
  deliver(deliveryId: number, options?: { once?: boolean }): Promise<void>;
}

export interface NotificationServiceDeps {
  db: Database;
  queue: JobQueue;
  config: Config;
  /** Signs and posts; its outbound guard decides which endpoint addresses may be reached. */
  webhooks: WebhookClient;
  /** Opens endpoints' sealed signing secrets; default: one without keys (plain, older rows only). */
  box?: SecretBox;
  /** Recorded attempts before a transient failure is final. The queue allows 8 retries (9 runs), one spare for a run that died before recording. */
  maxAttempts?: number;
}

const STATUS_WORDS: Record<CompletionStatus, string> = {
  PROCESSED: 'processed',
  PROCESSED_WITH_ERRORS: 'processed with errors',
  ERROR: 'failed',
  CANCELLED: 'cancelled',
};

interface AttemptOutcome {
  statusCode: number | null;
  durationMs: number | null;
  /** The beginning of the receiver's answer. */
  response: string | null;
  /** Absent when the notification was accepted. */
  error?: { message: string; retryable: boolean; thrown: unknown };
}

export function createNotificationService(deps: NotificationServiceDeps): NotificationService {
  const { db, queue, config, webhooks } = deps;
  const maxAttempts = deps.maxAttempts ?? 8;
  const box = deps.box ?? createSecretBox({});
  const timeoutMs = config.integrations.httpTimeoutMs;
  const mail: MailClient | undefined =
    config.mail.smtpUrl !== undefined
      ? createMailClient({ smtpUrl: config.mail.smtpUrl, from: config.mail.from, timeoutMs })
      : undefined;
  const baseUrl = (config.http.publicUrl ?? `http://localhost:${config.http.port}`).replace(/\/+$/, '');

  async function attempt(delivery: LockedDelivery): Promise<AttemptOutcome> {
    const message = delivery.payload as CompletionMessage;
    try {
      if (delivery.channel === 'webhook') {
        const endpoint = delivery.endpoint!;
        const result = await webhooks.post({
          url: endpoint.url,
          secret:
            endpoint.sealedSecret !== null
              ? box.open(endpoint.sealedSecret, webhookSecretScope(delivery.tenantId, endpoint.id))
                  .signingSecret!
              : endpoint.secret!,
          event: delivery.event,
          deliveryId: delivery.id,
          // jsonb's canonical form makes this the same string on every attempt.
          body: JSON.stringify(message),
        });
        return { statusCode: result.status, durationMs: result.durationMs, response: result.response };
      }
      const result = await mail!.send({ to: delivery.recipient, ...renderEmail(message) });
      return { statusCode: result.responseCode, durationMs: result.durationMs, response: null };
    } catch (error) {
      if (isIntegrationError(error)) {
        return {
          statusCode: error.status ?? null,
          durationMs: error.exchange?.durationMs ?? null,
          response: error.exchange?.responseBody?.slice(0, RESPONSE_EXCERPT) ?? null,
          error: { message: error.message, retryable: error instanceof RetryableError, thrown: error },
        };
      }
      // Not a remote verdict (a bug, a broken socket API): retry it like a transient failure.
      const text = error instanceof Error ? error.message : String(error);
      return {
        statusCode: null,
        durationMs: null,
        response: null,
        error: { message: text, retryable: true, thrown: error },
      };
    }
  }

  /** Why this delivery cannot be attempted any more, if so. */
  function unattemptable(delivery: LockedDelivery): string | undefined {
    if (delivery.channel === 'email') return mail ? undefined : 'SMTP is not configured';
    if (!delivery.endpoint) return 'webhook endpoint not found';
    return delivery.endpoint.active ? undefined : 'webhook endpoint is inactive';
  }

  return {
    async enqueueCompletion(executor, event) {
      const created = await repo.insertCompletionDeliveries(executor, {
        tenantId: event.tenantId,
        bulkChangeId: event.bulkChangeId,
        event: COMPLETED_EVENT,
        payload: completionPayload(event, baseUrl),
        emailRecipient: mail ? event.submitter.email : null,
      });
      await queue.enqueueMany(
        executor,
        'notification.deliver',
        created.map((d) => ({ deliveryId: d.id })),
      );
    },

    async deliver(deliveryId, options = {}) {
      // The row lock is held across the remote call: a duplicate run of the same job waits and
      // then sees the outcome instead of sending twice, and attempt N is recorded exactly once.
      // It costs one pooled connection per notification in flight, bounded by the HTTP timeout.
      const retry = await db.transaction().execute(async (trx) => {
        const delivery = await repo.lockDelivery(trx, deliveryId);
        if (!delivery || delivery.status !== 'pending') return undefined;
        const reason = unattemptable(delivery);
        if (reason !== undefined) {
          await repo.failWithoutAttempt(trx, deliveryId, reason);
          return undefined;
        }
        const number = delivery.attempts + 1;
        const outcome = await attempt(delivery);
        const again = outcome.error?.retryable === true && number < maxAttempts && options.once !== true;
        await repo.recordAttempt(trx, {
          deliveryId,
          attempt: number,
          status: !outcome.error ? 'delivered' : again ? 'pending' : 'failed',
          statusCode: outcome.statusCode,
          error: outcome.error?.message ?? null,
          durationMs: outcome.durationMs,
          response: outcome.response,
        });
        return again ? outcome.error : undefined;
      });
      // Thrown only after the attempt is committed, so the queue's retry sees it recorded.
      if (retry) throw retry.thrown;
    },
  };
}

function completionPayload(event: CompletionEvent, baseUrl: string): Omit<CompletionMessage, 'deliveryId'> {
  const self = `${baseUrl}/api/v1/bulk-changes/${event.bulkChangeId}`;
  return {
    event: COMPLETED_EVENT,
    occurredAt: event.completedAt,
    data: {
      id: event.bulkChangeId,
      status: event.status,
      counts: event.counts,
      startedAt: event.startedAt,
      completedAt: event.completedAt,
      links: { self, devices: `${self}/devices`, logs: `${self}/logs` },
    },
  };
}

export function renderEmail(message: CompletionMessage): { subject: string; text: string } {
  const { id, status, counts, startedAt, completedAt, links } = message.data;
  const open = counts.pending + counts.processing + counts.waiting;
  const lines = [
    `Bulk change ${id} ${STATUS_WORDS[status]}.`,
    '',
    `Devices: ${counts.total}`,
    `  processed: ${counts.processed}`,
    `  errors:    ${counts.error}`,
    `  cancelled: ${counts.cancelled}`,
    ...(open > 0 ? [`  open:      ${open}`] : []),
    '',
    `Started:   ${startedAt ?? '-'}`,
    `Completed: ${completedAt}`,
    '',
    `Details:    ${links.self}`,
    `Per device: ${links.devices}`,
    `Change log: ${links.logs}`,
  ];
  return { subject: `simbind: bulk change ${id} ${STATUS_WORDS[status]}`, text: `${lines.join('\n')}\n` };
}
