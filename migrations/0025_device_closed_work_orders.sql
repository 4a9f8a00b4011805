-- A device's page lists every bulk change that had it, with what became of the device in each:
-- also those that refused it at submission, failed it or cancelled it (before, only those that
-- changed it, held it open or created a Rev.io line for it were listed, so a device a change
-- refused — owned by another customer, say — showed no trace of it). Open work orders are found
-- by device through bulk_change_device_open_key and changed devices through their history; this
-- index finds the ended-without-change ones. Partial: a work order written PENDING and then
-- PROCESSED never enters it, so the assignment path writes nothing more (issue 13, B1).
CREATE INDEX bulk_change_device_closed_device_idx ON bulk_change_device (device_id)
  WHERE status IN ('ERROR', 'CANCELLED');
