-- The fleet and the customers synced from the partners (issue 11, item 5): one row per sync run of a
-- carrier service provider's devices or of a Rev.io account's customers, run by a queue job like a
-- bulk change, with its progress and counts. At most one open run per target; every open run has a
-- deadline, past which it ends FAILED saying so.
CREATE TABLE sync_run (
  id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id            bigint NOT NULL REFERENCES tenant,
  kind                 text NOT NULL CHECK (kind IN ('devices', 'customers')),
  -- devices: the service provider synced (its carrier account); customers: the Rev.io account
  service_provider_id  bigint REFERENCES service_provider,
  credentials_id       bigint NOT NULL REFERENCES integration_credentials,
  mode                 text NOT NULL CHECK (mode IN ('full', 'incremental')),
  status               text NOT NULL DEFAULT 'QUEUED' CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED')),
  -- null: started by the schedule
  requested_by         bigint REFERENCES app_user ON DELETE SET NULL,
  -- what the partner was asked for: changes since this time (devices)
  since                timestamptz,
  -- the newest partner-side change seen: where the next incremental run starts
  high_water           timestamptz,
  pages                integer NOT NULL DEFAULT 0,
  seen                 integer NOT NULL DEFAULT 0,
  created              integer NOT NULL DEFAULT 0,
  changed              integer NOT NULL DEFAULT 0,
  -- known to simbind but absent from a full list (null: the partner's list cannot tell)
  gone                 integer,
  -- records of the partner simbind could not store (an ICCID that is not one), skipped
  skipped              integer NOT NULL DEFAULT 0,
  attempts             integer NOT NULL DEFAULT 0,
  error                text,
  deadline_at          timestamptz NOT NULL,
  created_at           timestamptz NOT NULL DEFAULT now(),
  started_at           timestamptz,
  finished_at          timestamptz,
  CHECK ((kind = 'devices') = (service_provider_id IS NOT NULL)),
  CHECK ((status IN ('SUCCEEDED', 'FAILED')) = (finished_at IS NOT NULL))
);
CREATE UNIQUE INDEX sync_run_one_open ON sync_run (kind, credentials_id, coalesce(service_provider_id, 0))
  WHERE status IN ('QUEUED', 'RUNNING');
CREATE INDEX sync_run_tenant ON sync_run (tenant_id, id);
CREATE INDEX sync_run_open_deadline ON sync_run (deadline_at) WHERE status IN ('QUEUED', 'RUNNING');

-- When a sync last saw the device in its carrier's list: what a full list leaves unseen is "gone".
ALTER TABLE device ADD COLUMN carrier_seen_at timestamptz;
-- When a sync last saw the customer in Rev.io.
ALTER TABLE customer ADD COLUMN rev_seen_at timestamptz;
