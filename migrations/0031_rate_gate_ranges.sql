-- Issue 13 (B6): a run of consecutive grants as ONE lease, so a process that keeps grants ahead for
-- a fast limit pays one row per round trip, not one per grant. Where a slot is far shorter than a
-- round trip (1,000,000 requests a minute: 0.06 ms), a caller calling again the moment it has its
-- grant waited one round trip per call (p99 1.3–3.0 ms), because the one grant kept ahead could not
-- come back before the next call; keeping many ahead as one lease each cost 1.1–2 ms of database time
-- per batch of 16–32 (0.06 ms of slots per grant) and made it worse. A run of n grants here costs what
-- one does: one lease row, the account's row moved on by n spacings.
--
-- A lease now covers the requests seq … seq + seqs − 1, their slots one spacing apart from `slot_at`.
-- Every rule of 0014 holds for the run as a whole, on the safe side for each of its requests:
-- - It is in flight until all of its requests are given back (its holder releases it once, at the
--   last), so request n + requests waits for the whole run, not only for its own request n.
-- - Its release keeps request `seq + requests` a window after it (0029), `seq` being the run's first:
--   that is the earliest of its requests' successors, so every later one is later still.
-- - It expires `lease_ms` after the run's last slot; once expired, the window is kept after its
--   expiry from its first request, as for a single lease.
-- - A run is only granted without a concurrency limit (a held grant keeps nobody's call seat), and
--   never past request oldest + requests − 1 (the window rule); the call seats of a limit with one
--   count the requests of every lease (a run left from before a limit changed counts for all of its).
ALTER TABLE rate_gate_lease ADD COLUMN seqs integer NOT NULL DEFAULT 1 CHECK (seqs > 0);

-- rate_gate_acquire (0014) for up to `p_count` consecutive requests as one lease: the grant is of
-- `seqs` requests (fewer when the window would refuse the later ones; one under a concurrency limit),
-- the first at `wait_ms`, each next one a spacing later.
CREATE FUNCTION rate_gate_acquire_seqs(
  p_key text, p_requests integer, p_window_ms float8, p_spacing_ms float8, p_concurrency integer,
  p_lease_id uuid, p_lease_ms float8, p_count integer,
  OUT granted boolean, OUT seq bigint, OUT seqs integer, OUT wait_ms float8, OUT retry_in_ms float8
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
  SELECT coalesce(sum(l.seqs), 0), min(l.seq), min(l.slot_at), min(l.expires_at)
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
    SELECT coalesce(sum(l.seqs), 0), min(l.seq), min(l.slot_at)
      INTO held, oldest, first_slot
      FROM rate_gate_lease l WHERE l.key = p_key;
  END IF;

  IF (p_concurrency > 0 AND held >= p_concurrency) OR gate.next_seq >= oldest + p_requests THEN
    granted := false;
    retry_in_ms := greatest(0, extract(epoch FROM first_slot - now_at) * 1000);
    RETURN;
  END IF;

  seqs := CASE WHEN p_concurrency > 0 THEN 1
               ELSE least(greatest(p_count, 1), coalesce(oldest, gate.next_seq) + p_requests - gate.next_seq) END;
  slot := greatest(gate.tat, now_at);
  INSERT INTO rate_gate_lease (key, seq, lease_id, slot_at, expires_at, seqs)
  VALUES (p_key, gate.next_seq, p_lease_id, slot, slot + ((seqs - 1) * p_spacing_ms + p_lease_ms) * ms, seqs);
  UPDATE rate_gate g SET tat = slot + seqs * p_spacing_ms * ms, next_seq = gate.next_seq + seqs WHERE g.key = p_key;
  granted := true;
  seq := gate.next_seq;
  wait_ms := greatest(0, extract(epoch FROM slot - now_at) * 1000);
END
$$;

-- One request, as before (rate_gate_acquire_after_release and rate_gate_acquire_many call it).
CREATE OR REPLACE FUNCTION rate_gate_acquire(
  p_key text, p_requests integer, p_window_ms float8, p_spacing_ms float8, p_concurrency integer,
  p_lease_id uuid, p_lease_ms float8,
  OUT granted boolean, OUT seq bigint, OUT wait_ms float8, OUT retry_in_ms float8
) LANGUAGE plpgsql AS $$
BEGIN
  SELECT a.granted, a.seq, a.wait_ms, a.retry_in_ms INTO granted, seq, wait_ms, retry_in_ms
    FROM rate_gate_acquire_seqs(p_key, p_requests, p_window_ms, p_spacing_ms, p_concurrency,
                                p_lease_id, p_lease_ms, 1) a;
END
$$;

-- A run of up to `p_count` requests for a limit without a concurrency limit, after giving back this
-- process's finished requests (as rate_gate_acquire_after_release does), in one round trip.
CREATE FUNCTION rate_gate_acquire_range(
  p_release_seqs bigint[], p_release_lease_ids uuid[],
  p_key text, p_requests integer, p_window_ms float8, p_spacing_ms float8,
  p_lease_id uuid, p_lease_ms float8, p_count integer,
  OUT granted boolean, OUT seq bigint, OUT seqs integer, OUT wait_ms float8, OUT retry_in_ms float8
) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM rate_gate_release(p_key, r.seq, r.lease_id, p_requests, p_window_ms, p_spacing_ms)
    FROM unnest(p_release_seqs, p_release_lease_ids) AS r(seq, lease_id);
  SELECT a.granted, a.seq, a.seqs, a.wait_ms, a.retry_in_ms INTO granted, seq, seqs, wait_ms, retry_in_ms
    FROM rate_gate_acquire_seqs(p_key, p_requests, p_window_ms, p_spacing_ms, 0, p_lease_id, p_lease_ms, p_count) a;
END
$$;
