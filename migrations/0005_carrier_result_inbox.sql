-- Every asynchronous carrier result (ThingSpace callback or poll answer) is kept, keyed by the
-- carrier's request id. A callback can arrive before the worker has recorded which work order sent
-- that request; the worker then finds the result here instead of waiting for the next poll.
CREATE TABLE carrier_result (
  request_id    text PRIMARY KEY,
  status        text NOT NULL CHECK (status IN ('Success', 'Failed')),
  fault_string  text,
  received_at   timestamptz NOT NULL DEFAULT now()
);
