-- Webhook endpoints managed through the API (issue 11, item 4). The signing secret is shown once
-- and then kept sealed like the integration secrets (`sealed_secret`, AES-256-GCM under
-- SECRETS_KEY); `secret` holds a plain one only for rows written before, until `simbind secrets
-- rekey` seals it. A test delivery belongs to no bulk change, and a deleted endpoint keeps its
-- delivery log (the recipient URL stays on each row).
ALTER TABLE webhook_endpoint
  ALTER COLUMN secret DROP NOT NULL,
  ADD COLUMN sealed_secret jsonb,
  ADD COLUMN description text NOT NULL DEFAULT '',
  ADD COLUMN secret_set_at timestamptz,
  ADD COLUMN secret_set_by bigint REFERENCES app_user ON DELETE SET NULL,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
  ADD CONSTRAINT webhook_endpoint_has_secret CHECK (secret IS NOT NULL OR sealed_secret IS NOT NULL);
UPDATE webhook_endpoint SET secret_set_at = created_at;
ALTER TABLE webhook_endpoint ALTER COLUMN secret_set_at SET NOT NULL,
  ALTER COLUMN secret_set_at SET DEFAULT now();
CREATE INDEX webhook_endpoint_tenant ON webhook_endpoint (tenant_id, id);

ALTER TABLE notification_delivery
  ALTER COLUMN bulk_change_id DROP NOT NULL,
  ADD CONSTRAINT notification_delivery_of_a_change CHECK (bulk_change_id IS NOT NULL OR event = 'webhook.test'),
  DROP CONSTRAINT notification_delivery_webhook_endpoint_id_fkey,
  ADD CONSTRAINT notification_delivery_webhook_endpoint_id_fkey
    FOREIGN KEY (webhook_endpoint_id) REFERENCES webhook_endpoint ON DELETE SET NULL;
CREATE INDEX notification_delivery_endpoint ON notification_delivery (webhook_endpoint_id, id)
  WHERE webhook_endpoint_id IS NOT NULL;

-- The receiver's answer (its beginning), beside the status code: what a delivery log shows.
ALTER TABLE notification_delivery ADD COLUMN last_response text;
ALTER TABLE notification_attempt ADD COLUMN response text;
