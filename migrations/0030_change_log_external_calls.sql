-- Issue 13: the finish of a bulk change counts its external calls per system (`stats.externalCalls`,
-- lifecycle.repository.ts finishIfNothingOpen) from the change-log entries that name a system. It
-- read every entry of the bulk change to find them: for a 100,000-device change on the AMOP path,
-- which calls nobody, 22–24 ms of its finish for nothing (134 ms in all). The entries that name a
-- system get an index of their own; measured on the PostgreSQL 15 server with 100,000 entries:
-- 0.2–0.8 ms with no call among them, 21.8 → 4.7 ms with 50,000 calls. Only external calls are
-- written into it.
CREATE INDEX change_log_external_call_idx ON change_log (bulk_change_id, system) WHERE system IS NOT NULL;
