-- Issue 13 (B1): the rows written once per device — work order, ownership, change log, history —
-- cost what they must and no more. Measured on a 100,000-device assignment (PostgreSQL 18, 2 cores):
-- each foreign key is a trigger that looks its parent up once per inserted row, 5–7 µs each; the 21
-- of them on these four tables were 11 of the 15 s that the bare SQL writing the same rows took.
--
-- Dropped: the references whose parent rows are never deleted (tenants, devices, bulk changes,
-- customers, sites and users are deactivated or archived, never deleted: no code deletes them) and
-- whose values are copied, in the same transaction, from a row that was itself checked: the bulk
-- change (its tenant, customer, site, creator — each checked once per bulk change by
-- bulk_change's own foreign keys), the work order (its device, found by validation), the
-- submitter. A per-row check of the same parent 100,000 times protects nothing the first did not.
-- Kept: the references that are set independently of a checked row and whose parents can go
-- (rate plans and pools, integration credentials), and every reference of every other table.
ALTER TABLE bulk_change_device
  DROP CONSTRAINT bulk_change_device_tenant_id_fkey,
  DROP CONSTRAINT bulk_change_device_bulk_change_id_fkey,
  DROP CONSTRAINT bulk_change_device_device_id_fkey;
ALTER TABLE change_log
  DROP CONSTRAINT change_log_tenant_id_fkey,
  DROP CONSTRAINT change_log_bulk_change_id_fkey,
  DROP CONSTRAINT change_log_bulk_change_device_id_fkey,
  DROP CONSTRAINT change_log_device_id_fkey;
ALTER TABLE device_history
  DROP CONSTRAINT device_history_tenant_id_fkey,
  DROP CONSTRAINT device_history_device_id_fkey,
  DROP CONSTRAINT device_history_bulk_change_id_fkey,
  DROP CONSTRAINT device_history_changed_by_fkey;
ALTER TABLE device_tenant
  DROP CONSTRAINT device_tenant_tenant_id_fkey,
  DROP CONSTRAINT device_tenant_device_id_fkey,
  DROP CONSTRAINT device_tenant_customer_id_fkey,
  DROP CONSTRAINT device_tenant_site_id_fkey,
  DROP CONSTRAINT device_tenant_modified_by_fkey;

-- Work orders are written twice (at submission, and once when the device is done): every index is
-- maintained on both writes, a partial one only while its predicate holds. Indexes no query reads
-- are gone, and the worker's index holds open work orders only:
--  * (bulk_change_id, identifier) UNIQUE: no query looks a work order up by its identifier, and
--    validation folds duplicate identifiers before the one insert (they are reported to the caller);
--  * (bulk_change_id, chunk) becomes (bulk_change_id, chunk, id) over PENDING/PROCESSING rows: the
--    claim (a chunk's next open work orders in id order) is a range scan that stops at its LIMIT,
--    and the write that finishes a work order adds no entry to it;
--  * (bulk_change_id, status) is a prefix of (bulk_change_id, status, id), which 0021 adds for the
--    device pages (issue 13, B5); the status counts and the open check read that one.
ALTER TABLE bulk_change_device DROP CONSTRAINT bulk_change_device_bulk_change_id_identifier_key;
DROP INDEX bulk_change_device_status_idx;
DROP INDEX bulk_change_device_chunk_idx;
CREATE INDEX bulk_change_device_open_chunk_idx ON bulk_change_device (bulk_change_id, chunk, id)
  WHERE status IN ('PENDING', 'PROCESSING');
-- Served only the cascade from work orders, which no longer exists; no query reads it.
DROP INDEX change_log_work_order_idx;
-- A prefix of device_history_bulk_change_device_idx (bulk_change_id, device_id, id).
DROP INDEX device_history_bulk_change_idx;
