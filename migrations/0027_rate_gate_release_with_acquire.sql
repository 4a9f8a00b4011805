-- Issue 13 (B6): a release rides with its process's next reservation for the same account, so a
-- worker calling one account after another makes one round trip to the gate per call instead of
-- two (acquire, then release). The caller is not kept waiting for its release: the gate sends it
-- with the next reservation when there is one at once, else on its own at the next turn of the
-- event loop (src/clients/postgres-rate-gate.ts). Measured (bench/rate-gate.bench.ts): the gate's
-- own time per call, one round trip after a quiet 60 ms, is dominated by waking the connection.
--
-- The releases come first, each exactly as rate_gate_release gives its lease back, then the
-- reservation as rate_gate_acquire makes it, in one transaction: a seat this process just freed is
-- free for the reservation that follows. The releases use the reservation's limit (the same account
-- key, so the same limit, save for a limit changed between the two calls: a release keeps a slot
-- at least one window after it whatever the limit, which only errs on the late side).
CREATE FUNCTION rate_gate_acquire_after_release(
  p_release_seqs bigint[], p_release_lease_ids uuid[],
  p_key text, p_requests integer, p_window_ms float8, p_spacing_ms float8, p_concurrency integer,
  p_lease_id uuid, p_lease_ms float8,
  OUT granted boolean, OUT seq bigint, OUT wait_ms float8, OUT retry_in_ms float8
) LANGUAGE plpgsql AS $$
BEGIN
  PERFORM rate_gate_release(p_key, r.seq, r.lease_id, p_requests, p_window_ms, p_spacing_ms)
    FROM unnest(p_release_seqs, p_release_lease_ids) AS r(seq, lease_id);
  SELECT a.granted, a.seq, a.wait_ms, a.retry_in_ms INTO granted, seq, wait_ms, retry_in_ms
    FROM rate_gate_acquire(p_key, p_requests, p_window_ms, p_spacing_ms, p_concurrency, p_lease_id, p_lease_ms) a;
END
$$;
