-- Issue 13 (B6): the callers of one process that wait for the same account at once (a worker's
-- chunk starting its Rev.io calls together) are granted in one round trip instead of one after the
-- other: each of them waited for every reservation before its own, so the last of four paid four
-- round trips. The process asks for as many grants as it has callers waiting, in their order; the
-- grants are exactly those rate_gate_acquire would make one call after another (the same spacing,
-- window and concurrency rules, the account's row lock held throughout), and stop at the first it
-- refuses, which is returned too (its `retry_in_ms` tells the first caller when to ask again). As
-- in rate_gate_acquire_after_release, this process's finished requests are given back first.
CREATE FUNCTION rate_gate_acquire_many(
  p_release_seqs bigint[], p_release_lease_ids uuid[],
  p_key text, p_requests integer, p_window_ms float8, p_spacing_ms float8, p_concurrency integer,
  p_lease_ids uuid[], p_lease_ms float8
) RETURNS TABLE (lease_id uuid, granted boolean, seq bigint, wait_ms float8, retry_in_ms float8)
LANGUAGE plpgsql AS $$
DECLARE
  id uuid;
BEGIN
  PERFORM rate_gate_release(p_key, r.seq, r.lease_id, p_requests, p_window_ms, p_spacing_ms)
    FROM unnest(p_release_seqs, p_release_lease_ids) AS r(seq, lease_id);
  FOREACH id IN ARRAY p_lease_ids LOOP
    lease_id := id;
    SELECT a.granted, a.seq, a.wait_ms, a.retry_in_ms INTO granted, seq, wait_ms, retry_in_ms
      FROM rate_gate_acquire(p_key, p_requests, p_window_ms, p_spacing_ms, p_concurrency, id, p_lease_ms) a;
    RETURN NEXT;
    EXIT WHEN NOT granted;
  END LOOP;
END
$$;
