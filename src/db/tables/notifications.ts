import type { Generated } from 'kysely';
import type { CreatedAt, Json, Timestamp } from './columns.ts';

/** Webhook endpoints and the notifications delivered to them (and by email). */

export interface WebhookEndpointTable {
  id: Generated<number>;
  tenant_id: number;
  url: string;
  /** A plain signing secret of a row written before sealing; null once sealed. */
  secret: string | null;
  /** The signing secret sealed with SECRETS_KEY (`SealedSecrets`, `{ signingSecret }` inside). */
  sealed_secret: Json | null;
  description: Generated<string>;
  events: Generated<string[]>;
  active: Generated<boolean>;
  secret_set_at: Timestamp;
  secret_set_by: number | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface NotificationDeliveryTable {
  id: Generated<number>;
  tenant_id: number;
  /** null only for a `webhook.test` delivery. */
  bulk_change_id: number | null;
  channel: 'webhook' | 'email';
  webhook_endpoint_id: number | null;
  recipient: string;
  event: string;
  payload: Json;
  status: Generated<'pending' | 'delivered' | 'failed'>;
  attempts: Generated<number>;
  last_status_code: number | null;
  last_error: string | null;
  last_response: string | null;
  created_at: CreatedAt;
  delivered_at: Timestamp | null;
}

export interface NotificationAttemptTable {
  id: Generated<number>;
  notification_delivery_id: number;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number | null;
  response: string | null;
  attempted_at: Generated<Date>;
}
