-- Cancelling a bulk change that is being processed: workers finish the step they are in, then stop
-- taking further steps for its devices (they look at this between steps).
ALTER TABLE bulk_change ADD COLUMN cancel_requested_at timestamptz;

-- Finding the work orders that wait for a carrier's asynchronous answer, per bulk change.
CREATE INDEX bulk_change_device_waiting_idx ON bulk_change_device (bulk_change_id) WHERE status = 'WAITING_CARRIER';
