-- Undo a bulk change (issue 16): a bulk change of type `undo`, linked to the one it takes back, with
-- one work order per device the original changed. The before-values it restores are the original's
-- device_history rows (written in the same statement as each change); what it takes back outside is
-- the Rev.io lines and products the original created (rev_service / rev_service_product).

ALTER TABLE bulk_change DROP CONSTRAINT bulk_change_change_type_check;
ALTER TABLE bulk_change ADD CONSTRAINT bulk_change_change_type_check
  CHECK (change_type IN ('customer_assignment', 'undo'));

ALTER TABLE bulk_change ADD COLUMN undo_of bigint REFERENCES bulk_change;
-- At most one live undo per bulk change: two operators pressing Undo at once cannot both win. A
-- cancelled undo frees the place (its devices that were restored show as changed since).
CREATE UNIQUE INDEX bulk_change_undo_of_key ON bulk_change (undo_of)
  WHERE undo_of IS NOT NULL AND status <> 'CANCELLED';
-- An undo is never undone: the service refuses it, and the table says it too.
ALTER TABLE bulk_change ADD CONSTRAINT bulk_change_undo_type_check
  CHECK ((change_type = 'undo') = (undo_of IS NOT NULL));

-- Disconnect intents. Rev.io has no idempotency key for a disconnect either: the undo work order
-- that will disconnect a line (or product) is recorded BEFORE the call, so that a run resuming after
-- a crash or a lost answer looks the remote state up first instead of disconnecting twice.
ALTER TABLE rev_service ADD COLUMN disconnect_work_order_id bigint REFERENCES bulk_change_device ON DELETE SET NULL;
ALTER TABLE rev_service ADD COLUMN disconnected_at timestamptz;

ALTER TABLE rev_service_product DROP CONSTRAINT rev_service_product_status_check;
ALTER TABLE rev_service_product ADD CONSTRAINT rev_service_product_status_check
  CHECK (status IN ('pending', 'created', 'failed', 'disconnected'));
ALTER TABLE rev_service_product ADD COLUMN disconnect_work_order_id bigint REFERENCES bulk_change_device ON DELETE SET NULL;
ALTER TABLE rev_service_product ADD COLUMN disconnected_at timestamptz;

-- The undo reads the original's history of each device (before-values, and whether anything changed
-- the device since); device_history_device_idx serves "since", this one "the original's rows".
CREATE INDEX device_history_bulk_change_device_idx ON device_history (bulk_change_id, device_id, id);
