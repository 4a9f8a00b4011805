-- The shared rate gate (src/clients/postgres-rate-gate.ts): every worker process, on any machine,
-- reserves its requests to an external account here, so together they stay within the account's
-- limit. Statements and measurements: src/db/repositories/rate-limit.repository.ts.
--
-- UNLOGGED: soft state, rewritten on every external request. A commit that touched only unlogged
-- tables does not wait for a WAL flush: measured 0.3–0.4 ms less per reservation and 0.2–0.3 ms
-- less per release than LOGGED on the development VM's disk, and far more on a busy server. After a
-- server crash (or on a promoted standby) the tables are empty: the gate re-creates seats on its
-- next acquire, and the remote may see at most one window's worth of requests sent just before the
-- crash plus a fresh window — a server crash also cuts every worker's connection, so in practice
-- far fewer. fillfactor 50 leaves room on each page for HOT updates.

-- One row per external account: the earliest time its next request may be sent (GCRA's
-- "theoretical arrival time"), in the database's clock.
CREATE UNLOGGED TABLE rate_limit_state (
  key           text PRIMARY KEY,
  next_slot_at  timestamptz NOT NULL
) WITH (fillfactor = 50);

-- Per account, `requests` window seats and `concurrency` call seats. A request holds one window seat
-- from its reservation until `windowMs` after its release (the remote counts it on arrival, which
-- may be as late as the release), and one call seat until its release. `free_at` is when the seat
-- may be taken again: after a release, its known time; while held (lease_id set), the time at which a
-- holder that never releases (crashed) is given up on.
CREATE UNLOGGED TABLE rate_limit_seat (
  key       text NOT NULL,
  kind      text NOT NULL CHECK (kind IN ('window', 'call')),
  seat      integer NOT NULL CHECK (seat >= 0),
  lease_id  uuid,
  free_at   timestamptz NOT NULL DEFAULT '-infinity',
  PRIMARY KEY (key, kind, seat)
) WITH (fillfactor = 50);
