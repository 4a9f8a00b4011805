import { randomBytes } from 'node:crypto';
import type { OutboundGuard } from '../clients/outbound-guard.ts';
import type { Database } from '../db/database.ts';
import * as repo from '../db/repositories/webhook-endpoint.repository.ts';
import {
  ForbiddenError,
  NotFoundError,
  PermanentError,
  RetryableError,
  UnprocessableError,
} from '../errors.ts';
import { COMPLETED_EVENT, type NotificationService } from './notification.service.ts';
import type { Principal } from './principal.ts';
import { webhookSecretScope, type SecretBox } from './secret-box.ts';

/**
 * A tenant's webhook endpoints (issue 11, item 4), managed by administrators: URL, events,
 * enable/disable; the signing secret is made here, shown once (on create and on rotate) and then
 * kept sealed; **send test** makes one signed delivery now and answers what the receiver said; the
 * delivery log lists every delivery to the endpoint with its status, attempts and the remote answer.
 * A URL must pass the outbound guard when it is saved (its host resolved, every address allowed),
 * and again on every delivery, where the guard has the last word.
 */

/** The events an endpoint can subscribe to. */
export const WEBHOOK_EVENTS = [COMPLETED_EVENT] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];
/** The event of a test send; not one to subscribe to. */
export const TEST_EVENT = 'webhook.test';

export interface EndpointView {
  id: number;
  url: string;
  description: string;
  events: string[];
  active: boolean;
  /** The signing secret is never shown again: when, and by whom, it was set. */
  secret: { setAt: string; setBy: { id: number; name: string } | null };
  createdAt: string;
  updatedAt: string;
}

export interface EndpointInput {
  url: string;
  description?: string;
  events?: WebhookEvent[];
  active?: boolean;
}

export type EndpointChange = Partial<EndpointInput>;

export interface DeliveryView {
  id: number;
  event: string;
  bulkChangeId: number | null;
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  statusCode: number | null;
  error: string | null;
  /** The beginning of the receiver's last answer. */
  response: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export interface WebhooksService {
  list(principal: Principal, page: { limit: number; afterId?: number }): Promise<EndpointView[]>;
  get(principal: Principal, id: number): Promise<EndpointView>;
  /** The endpoint and its signing secret, shown in this answer only. */
  create(principal: Principal, input: EndpointInput): Promise<{ endpoint: EndpointView; secret: string }>;
  update(principal: Principal, id: number, change: EndpointChange): Promise<EndpointView>;
  /** A new signing secret, shown once; the old one stops signing at once. */
  rotateSecret(principal: Principal, id: number): Promise<{ endpoint: EndpointView; secret: string }>;
  remove(principal: Principal, id: number): Promise<void>;
  /** One signed `webhook.test` delivery now, whether the endpoint is enabled or not; recorded in its log. */
  sendTest(principal: Principal, id: number): Promise<DeliveryView>;
  deliveries(
    principal: Principal,
    id: number,
    page: { limit: number; beforeId?: number },
  ): Promise<DeliveryView[]>;
}

export interface WebhooksServiceDeps {
  db: Database;
  box: SecretBox;
  /** The same rules as the deliveries' (`WEBHOOK_ALLOW_ADDRESSES`). */
  guard: OutboundGuard;
  notifications: NotificationService;
}

/** `whsec_` and 32 random bytes, base64url. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

function assertAdmin(principal: Principal): void {
  if (principal.role !== 'admin') throw new ForbiddenError('Only administrators manage webhooks.');
}

function viewOf(row: repo.EndpointRow): EndpointView {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events,
    active: row.active,
    secret: { setAt: row.secretSetAt.toISOString(), setBy: row.secretSetBy },
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function deliveryViewOf(row: repo.DeliveryRow): DeliveryView {
  return {
    id: row.id,
    event: row.event,
    bulkChangeId: row.bulkChangeId,
    url: row.recipient,
    status: row.status,
    attempts: row.attempts,
    statusCode: row.lastStatusCode,
    error: row.lastError,
    response: row.lastResponse,
    createdAt: row.createdAt.toISOString(),
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
  };
}

export function createWebhooksService(deps: WebhooksServiceDeps): WebhooksService {
  const { db, box, guard, notifications } = deps;

  async function find(principal: Principal, id: number): Promise<repo.EndpointRow> {
    const row = await repo.findEndpoint(db, principal.tenantId, id);
    if (!row) throw new NotFoundError(`No webhook endpoint ${id}.`);
    return row;
  }

  /** The URL as it will be called, or a 422 naming why it may not be. */
  async function checkedUrl(url: string): Promise<string> {
    const refuse = (message: string) =>
      new UnprocessableError('The webhook URL may not be called.', [{ path: '/url', message }]);
    try {
      await guard.check(url);
    } catch (error) {
      if (error instanceof PermanentError || error instanceof RetryableError) {
        throw refuse(error.message.replace(/^webhook: /, ''));
      }
      throw error;
    }
    return new URL(url).href;
  }

  return {
    async list(principal, page) {
      assertAdmin(principal);
      return (await repo.listEndpoints(db, principal.tenantId, page)).map(viewOf);
    },

    async get(principal, id) {
      assertAdmin(principal);
      return viewOf(await find(principal, id));
    },

    async create(principal, input) {
      assertAdmin(principal);
      const url = await checkedUrl(input.url);
      const secret = newSigningSecret();
      const id = await db.transaction().execute(async (trx) => {
        const endpointId = await repo.nextEndpointId(trx);
        await repo.insertEndpoint(trx, {
          id: endpointId,
          tenantId: principal.tenantId,
          url,
          description: input.description?.trim() ?? '',
          events: [...new Set(input.events ?? WEBHOOK_EVENTS)],
          active: input.active ?? true,
          sealedSecret: box.seal(
            { signingSecret: secret },
            webhookSecretScope(principal.tenantId, endpointId),
          ),
          setBy: principal.userId,
        });
        return endpointId;
      });
      return { endpoint: viewOf(await find(principal, id)), secret };
    },

    async update(principal, id, change) {
      assertAdmin(principal);
      await find(principal, id);
      const fields: repo.EndpointChange = {};
      if (change.url !== undefined) fields.url = await checkedUrl(change.url);
      if (change.description !== undefined) fields.description = change.description.trim();
      if (change.events !== undefined) fields.events = [...new Set(change.events)];
      if (change.active !== undefined) fields.active = change.active;
      if (!(await repo.updateEndpoint(db, principal.tenantId, id, fields))) {
        throw new NotFoundError(`No webhook endpoint ${id}.`);
      }
      return viewOf(await find(principal, id));
    },

    async rotateSecret(principal, id) {
      assertAdmin(principal);
      await find(principal, id);
      const secret = newSigningSecret();
      const sealed = box.seal({ signingSecret: secret }, webhookSecretScope(principal.tenantId, id));
      if (!(await repo.replaceSecret(db, principal.tenantId, id, sealed, principal.userId))) {
        throw new NotFoundError(`No webhook endpoint ${id}.`);
      }
      return { endpoint: viewOf(await find(principal, id)), secret };
    },

    async remove(principal, id) {
      assertAdmin(principal);
      if (!(await repo.deleteEndpoint(db, principal.tenantId, id))) {
        throw new NotFoundError(`No webhook endpoint ${id}.`);
      }
    },

    async sendTest(principal, id) {
      assertAdmin(principal);
      const endpoint = await find(principal, id);
      const deliveryId = await repo.insertTestDelivery(db, {
        tenantId: principal.tenantId,
        endpointId: id,
        url: endpoint.url,
        event: TEST_EVENT,
        payload: {
          event: TEST_EVENT,
          occurredAt: new Date().toISOString(),
          data: { endpointId: id, message: `A test from simbind, sent by ${principal.name}.` },
        },
      });
      // Through the same path as every delivery: the guard, the signature, the recorded attempt.
      await notifications.deliver(deliveryId, { once: true });
      const [row] = await repo.listDeliveries(db, principal.tenantId, id, {
        limit: 1,
        beforeId: deliveryId + 1,
      });
      return deliveryViewOf(row!);
    },

    async deliveries(principal, id, page) {
      assertAdmin(principal);
      await find(principal, id);
      return (await repo.listDeliveries(db, principal.tenantId, id, page)).map(deliveryViewOf);
    },
  };
}
