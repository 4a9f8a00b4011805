-- The shared rate gate with O(1) state per external account (issue 13, B6). It replaces 0002's
-- seats: one row per request allowed in the window made each reservation scan and sort `requests`
-- rows, so an account configured for 1,000,000 requests a minute cost 0.1–0.4 s of database time
-- per call. Now an account is one `rate_gate` row plus one `rate_gate_lease` row per request in
-- flight (a handful: one per concurrent caller, never more than the limit's concurrency when it has
-- one), whatever its limit. The rules and measurements are in src/clients/postgres-rate-gate.ts and
-- src/db/repositories/rate-limit.repository.ts.
--
-- UNLOGGED, as before: soft state rewritten on every external request; a commit that touched only
-- unlogged tables does not wait for a WAL flush. After a server crash both tables are empty, the
-- gate starts afresh and the remote may see at most one window's worth of requests sent just before
-- the crash plus a fresh window (a server crash also cuts every worker's connection, so in practice
-- far fewer).

DROP TABLE rate_limit_seat;
DROP TABLE rate_limit_state;

-- Per account: `tat`, GCRA's theoretical arrival time (the earliest time the next request may be
-- sent, in the database's clock), and `next_seq`, the number the next granted request gets.
CREATE UNLOGGED TABLE rate_gate (
  key       text PRIMARY KEY,
  tat       timestamptz NOT NULL DEFAULT '-infinity',
  next_seq  bigint NOT NULL DEFAULT 0
) WITH (fillfactor = 50);

-- One row per granted request not yet released: its number, its slot, and when its holder is
-- presumed dead (slot + leaseMs) and the lease treated as released then.
CREATE UNLOGGED TABLE rate_gate_lease (
  key         text NOT NULL,
  seq         bigint NOT NULL,
  lease_id    uuid NOT NULL,
  slot_at     timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (key, seq)
);

-- Grants one request or says why not, in one round trip. A function rather than one statement:
-- the lease count must be read AFTER the account's row lock is held, and a single statement reads
-- every table with the snapshot it started with (a lease committed while it waited for the lock
-- would be missed); in a function each statement takes a fresh snapshot. Every writer of an
-- account's leases holds its `rate_gate` row lock first, so two callers never both see a free seat.
--
-- - Concurrency: granted only while fewer than `p_concurrency` leases are held (0: unlimited).
-- - Spacing: the slot is greatest(tat, now); tat moves one spacing (windowMs / (requests ×
--   utilization)) past it. Slots are granted in the order of the row lock: FIFO across processes.
-- - Window: request n + requests may not be granted while request n is held (its release time is
--   unknown); `rate_gate_release` then keeps its slot at least windowMs after n's release. So the
--   remote, which counts a request somewhere between its slot and its release, never sees more than
--   `requests` in any window, however late a request arrives.
-- - Leases past `expires_at` are taken as released at that time (their holders crashed).
--
-- Answers granted, the request's number and how long to wait for its slot; when not granted,
-- `retry_in_ms`: how long until the earliest holder's slot (it cannot release before).
CREATE FUNCTION rate_gate_acquire(
  p_key text, p_requests integer, p_window_ms float8, p_spacing_ms float8, p_concurrency integer,
  p_lease_id uuid, p_lease_ms float8,
  OUT granted boolean, OUT seq bigint, OUT wait_ms float8, OUT retry_in_ms float8
) LANGUAGE plpgsql AS $$
DECLARE
  ms CONSTANT interval := interval '1 millisecond';
  gate rate_gate%ROWTYPE;
  now_at timestamptz;
  held integer;
  oldest bigint;
  first_slot timestamptz;
  first_expiry timestamptz;
  slot timestamptz;
BEGIN
  SELECT * INTO gate FROM rate_gate g WHERE g.key = p_key FOR UPDATE;
  IF NOT FOUND THEN
    INSERT INTO rate_gate (key) VALUES (p_key) ON CONFLICT DO NOTHING;
    SELECT * INTO gate FROM rate_gate g WHERE g.key = p_key FOR UPDATE;
  END IF;
  now_at := clock_timestamp();
  SELECT count(*), min(l.seq), min(l.slot_at), min(l.expires_at)
    INTO held, oldest, first_slot, first_expiry
    FROM rate_gate_lease l WHERE l.key = p_key;

  IF first_expiry <= now_at THEN
    WITH gone AS (
      DELETE FROM rate_gate_lease l WHERE l.key = p_key AND l.expires_at <= now_at
      RETURNING l.seq, l.expires_at
    )
    SELECT greatest(gate.tat, max(gone.expires_at + (p_window_ms - (gone.seq + p_requests - gate.next_seq) * p_spacing_ms) * ms))
      INTO gate.tat FROM gone;
    UPDATE rate_gate g SET tat = gate.tat WHERE g.key = p_key;
    SELECT count(*), min(l.seq), min(l.slot_at)
      INTO held, oldest, first_slot
      FROM rate_gate_lease l WHERE l.key = p_key;
  END IF;

  IF (p_concurrency > 0 AND held >= p_concurrency) OR gate.next_seq >= oldest + p_requests THEN
    granted := false;
    retry_in_ms := greatest(0, extract(epoch FROM first_slot - now_at) * 1000);
    RETURN;
  END IF;

  slot := greatest(gate.tat, now_at);
  INSERT INTO rate_gate_lease (key, seq, lease_id, slot_at, expires_at)
  VALUES (p_key, gate.next_seq, p_lease_id, slot, slot + p_lease_ms * ms);
  UPDATE rate_gate g SET tat = slot + p_spacing_ms * ms, next_seq = gate.next_seq + 1 WHERE g.key = p_key;
  granted := true;
  seq := gate.next_seq;
  wait_ms := greatest(0, extract(epoch FROM slot - now_at) * 1000);
END
$$;

-- Gives a lease back, if it is still held (one given up on may have been taken as released), and
-- keeps request seq + requests at least windowMs after now: tat moves to
-- now + windowMs − (seq + requests − next_seq) × spacing when that is later. Only a request that
-- outlasted the utilization margin (windowMs × (1/utilization − 1): 1.9 s of Rev.io's minute)
-- moves it. The row lock comes first, as in rate_gate_acquire, so the two never deadlock.
CREATE FUNCTION rate_gate_release(
  p_key text, p_seq bigint, p_lease_id uuid, p_requests integer, p_window_ms float8, p_spacing_ms float8
) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  gate rate_gate%ROWTYPE;
  after timestamptz;
BEGIN
  SELECT * INTO gate FROM rate_gate g WHERE g.key = p_key FOR UPDATE;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  DELETE FROM rate_gate_lease l WHERE l.key = p_key AND l.seq = p_seq AND l.lease_id = p_lease_id;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  after := clock_timestamp() + (p_window_ms - (p_seq + p_requests - gate.next_seq) * p_spacing_ms) * interval '1 millisecond';
  IF after > gate.tat THEN
    UPDATE rate_gate g SET tat = after WHERE g.key = p_key;
  END IF;
  RETURN true;
END
$$;
