-- The shared rate gate (src/clients/postgres-rate-gate.ts): every worker process, on any machine,
-- reserves its requests to an external account here, so together they stay within the account's
-- limit. SQL and measurements: src/db/repositories/rate-limit.repository.ts.
--
-- UNLOGGED: this is soft state, rewritten on every external request. A commit that touched only
-- unlogged tables does not wait for a WAL flush, so an acquire costs one round trip and no fsync
-- (the wait after the slot is computed adds to the start-time jitter the utilisation margin must
-- absorb). After a server crash the tables come back empty: the next request gets the next slot at
-- once and seats are re-created by the gate; after a failover the standby's copies are empty too.
-- fillfactor 50 leaves room on the page for HOT updates: no indexed column is ever updated.

-- One row per external account: the next free send time (GCRA "theoretical arrival time"), and for
-- accounts with a concurrency limit the DB times of the latest releases (newest last, at most
-- `requests` of them), because the remote counts a request when it arrives, which may be as late as
-- its release.
CREATE UNLOGGED TABLE rate_limit_state (
  key           text PRIMARY KEY,
  next_slot_at  timestamptz NOT NULL,
  released_at   timestamptz[] NOT NULL DEFAULT '{}'
) WITH (fillfactor = 50);

-- `concurrency` seats per account with a concurrency limit. A seat is held by one lease until it
-- is released or its lease expires (a crashed holder), whichever comes first.
CREATE UNLOGGED TABLE rate_limit_seat (
  key         text NOT NULL,
  seat        integer NOT NULL CHECK (seat >= 0),
  lease_id    uuid,
  expires_at  timestamptz,
  PRIMARY KEY (key, seat),
  CHECK ((lease_id IS NULL) = (expires_at IS NULL))
) WITH (fillfactor = 50);
