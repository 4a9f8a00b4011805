-- Issue 13 (B5): the reads of one bulk change's work orders stay within a page's worth of index
-- entries whatever the size of the change. Measured on 1,000,000 devices and 200 bulk changes (one of
-- 100,000 devices; PostgreSQL 18):
--  * a device page filtered by status (`GET /bulk-changes/:id/devices?status=ERROR`) had no index in
--    id order: it read every work order of that status and sorted them (ERROR, 8,000 of them: 65–130
--    ms), or walked the primary key past the 200,000 work orders of older changes (140 ms). In
--    (bulk_change_id, status, id) order each page is a range scan of `limit` entries (under 1 ms).
--  * "retry failed" is offered from a count of the retryable failures, which read the heap of every
--    failed work order (8,000: 49 ms) to test `retryable`. Retryable failures are few (transient
--    errors): a partial index holds only them.
-- Both are maintained only on writes that change a status (the first also on the submission's insert).
CREATE INDEX bulk_change_device_status_page_idx ON bulk_change_device (bulk_change_id, status, id);
CREATE INDEX bulk_change_device_retryable_idx ON bulk_change_device (bulk_change_id)
  WHERE status = 'ERROR' AND retryable;
-- The undo's disconnect links (0018) reference work orders ON DELETE SET NULL: without an index each
-- deleted work order scanned both tables (deleting a 100,000-device change's work orders took
-- minutes). Partial: only the few rows an undo disconnected carry a link.
CREATE INDEX rev_service_disconnect_work_order_idx ON rev_service (disconnect_work_order_id)
  WHERE disconnect_work_order_id IS NOT NULL;
CREATE INDEX rev_service_product_disconnect_work_order_idx ON rev_service_product (disconnect_work_order_id)
  WHERE disconnect_work_order_id IS NOT NULL;
