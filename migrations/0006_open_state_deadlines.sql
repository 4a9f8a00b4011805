-- Every open state has an exit. A work order waiting for a carrier's asynchronous confirmation
-- (ThingSpace) waits until this moment at most; then it ends ERROR / integration, saying so.
ALTER TABLE bulk_change_device ADD COLUMN carrier_deadline timestamptz;
